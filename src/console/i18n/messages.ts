import { en } from './en.js'
import { vi } from './vi.js'

export type MessageKey = keyof typeof vi
export type Lang = 'vi' | 'en'

/** The catalogues per language; test/console/messages.test.ts checks they hold the same keys. */
export const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { vi, en }

/** The cookie keeping the chosen language across pages (?lang=en sets it). */
export const LANG_COOKIE = 'lienthong_lang'

export type Translate = (key: MessageKey, values?: Record<string, string>) => string

/** A translator for one language; `{name}` placeholders are filled from `values`. */
export function translator (lang: Lang): Translate {
  const catalogue = CATALOGUES[lang]
  return (key, values) => {
    const text = catalogue[key]
    return values == null ? text : text.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole)
  }
}

/** The page language: ?lang= first (a link to switch), then the cookie, else Vietnamese. */
export function chooseLang (query: string | undefined, cookie: string | undefined): Lang {
  if (query === 'en' || query === 'vi') return query
  return cookie === 'en' ? 'en' : 'vi'
}
