import type { Principal } from '../domain/principal.js'
import { html, type SafeHtml } from './html.js'
import type { Lang, Translate } from './i18n/messages.js'

/** What every page knows about its request: the language, the person (absent on sign-in) and the form token. */
export interface PageContext {
  lang: Lang
  t: Translate
  principal?: Principal
  /** The session's CSRF token, put in every form that changes state. */
  csrf?: string
  /** The path and query of this page, for the language switch link. */
  url: string
}

export type Section = 'sent' | 'received' | 'signature-log' | 'integrity' | 'agencies' | 'trust' | 'users' | 'audit' | 'none'

/** The link that switches language: same page, other language (the choice is kept in a cookie). */
export function switchLangHref (url: string, to: Lang): string {
  const parsed = new URL(url, 'http://console.invalid')
  parsed.searchParams.set('lang', to)
  return `${parsed.pathname}${parsed.search}`
}

/** The hidden form field carrying the session's CSRF token. */
export function csrfField (page: PageContext): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${page.csrf ?? ''}">`
}

function navLink (href: string, label: string, current: boolean): SafeHtml {
  return current ? html`<a href="${href}" aria-current="page">${label}</a>` : html`<a href="${href}">${label}</a>`
}

/** The page shell: header with navigation (by role), language switch and sign-out; then the body. */
export function layout (page: PageContext, title: string, section: Section, body: SafeHtml): string {
  const { t, principal } = page
  const other: Lang = page.lang === 'vi' ? 'en' : 'vi'
  const clerkish = principal != null
  const auditorish = principal != null && principal.role !== 'clerk'
  const admin = principal?.role === 'admin'
  const header = principal == null
    ? html`<header class="top"><strong>${t('app.title')}</strong><a class="lang" lang="${other}" href="${switchLangHref(page.url, other)}">${t('lang.switch')}</a></header>`
    : html`<header class="top">
  <strong>${t('app.title')}</strong>
  <nav aria-label="${t('nav.main')}">
    ${clerkish ? navLink('/console/sent', t('nav.sent'), section === 'sent') : ''}
    ${clerkish ? navLink('/console/received', t('nav.received'), section === 'received') : ''}
    ${auditorish ? navLink('/console/signature-log', t('nav.signatureLog'), section === 'signature-log') : ''}
    ${auditorish ? navLink('/console/integrity', t('nav.integrity'), section === 'integrity') : ''}
    ${admin ? navLink('/console/admin/agencies', t('nav.agencies'), section === 'agencies') : ''}
    ${admin ? navLink('/console/admin/trust', t('nav.trust'), section === 'trust') : ''}
    ${admin ? navLink('/console/admin/users', t('nav.users'), section === 'users') : ''}
    ${admin ? navLink('/console/admin/audit', t('nav.audit'), section === 'audit') : ''}
    <a href="/docs">${t('nav.docs')}</a>
  </nav>
  <span class="who">${principal.username} · ${t(`user.role.${principal.role}`)}${principal.agencyCode != null ? ` · ${principal.agencyCode}` : ''}</span>
  <a class="lang" lang="${other}" href="${switchLangHref(page.url, other)}">${t('lang.switch')}</a>
  <form method="post" action="/console/logout">${csrfField(page)}<button type="submit">${t('nav.signOut')}</button></form>
</header>`
  return `<!doctype html>
${html`<html lang="${page.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${t('app.title')}</title>
<link rel="stylesheet" href="/console/assets/console.css">
<link rel="icon" href="/console/assets/icon.svg" type="image/svg+xml">
</head>
<body>
${header}
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`.value}`
}
