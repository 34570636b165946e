import type { Translate } from './i18n/messages.js'

// Vietnamese civil-service dates: dd/MM/yyyy HH:mm, in Vietnam's time whatever the server's zone.
const VN_DATE = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'
})

/** `dd/MM/yyyy HH:mm` in Asia/Ho_Chi_Minh (both languages: the clerk's documents carry this form). */
export function formatDate (value: Date | string | null | undefined): string {
  if (value == null) return ''
  const date = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(date.getTime())) return ''
  const parts = Object.fromEntries(VN_DATE.formatToParts(date).map((p) => [p.type, p.value]))
  return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}`
}

/** The colour family of a delivery state; the state's name is always shown beside the colour. */
export type Tone = 'ok' | 'wait' | 'bad' | 'muted'

const TONES: Record<string, Tone> = {
  delivered: 'ok',
  acknowledged: 'ok',
  downloaded: 'ok',
  queued: 'wait',
  sending: 'wait',
  waiting_retry: 'wait',
  available: 'wait',
  failed: 'bad',
  cancelled: 'muted'
}

export function stateTone (state: string): Tone {
  return TONES[state] ?? 'muted'
}

const KNOWN_STATES = new Set(Object.keys(TONES))
const KNOWN_STATUS = new Set(['01', '02', '03', '04', '05', '06', '13', '15', '16'])

/** The state's name in the page's language (an unknown state shows as stored). */
export function stateLabel (t: Translate, state: string): string {
  return KNOWN_STATES.has(state) ? t(`state.${state}` as Parameters<Translate>[0]) : state
}

/** A business status (domain.md, 01-16) by its Vietnamese/English name, with the code. */
export function statusLabel (t: Translate, code: string): string {
  return KNOWN_STATUS.has(code) ? `${code} · ${t(`status.${code}` as Parameters<Translate>[0])}` : t('status.other', { code })
}
