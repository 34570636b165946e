import type { FastifyInstance } from 'fastify'
import { html, type SafeHtml } from '../../../console/html.js'
import type { PageContext } from '../../../console/layout.js'
import { HubProblem } from '../../../errors/problem.js'
import { assertConsoleCsrf } from '../../scopes/console-authenticator.js'
import { formParser } from './page-context.js'

/**
 * What every console plugin with forms sets up in its own encapsulated instance: the
 * url-encoded body parser of the pages' plain HTML forms and the CSRF check (the session's
 * synchronizer token in `_csrf` plus Origin/Sec-Fetch-Site), in a preHandler because a form's
 * token is in its body. Body parser and hook are per plugin in Fastify, so each plugin calls this.
 */
export function acceptForms (app: FastifyInstance, bodyLimit = 64 * 1024): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, formParser)
  app.addHook('preHandler', async (request) => { assertConsoleCsrf(request) })
}

/** A trimmed, bounded text field of a query or form; undefined when absent or blank. */
export function field (value: unknown, max = 200): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : undefined
}

/** A path with query values (blank ones left out). */
export function withQuery (path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v != null && v !== '') params.set(k, v)
  const qs = params.toString()
  return qs === '' ? path : `${path}?${qs}`
}

/** A notice at the top of a page: done (green) or refused (red, read out by screen readers). */
export function notice (kind: 'ok' | 'bad', content: SafeHtml | string): SafeHtml {
  return kind === 'ok'
    ? html`<p class="notice ok" role="status">${content}</p>`
    : html`<p class="notice bad" role="alert">${content}</p>`
}

/**
 * Runs a form's change; a refusal the person can act on (bad input, conflict, not found) comes
 * back as a notice with the same detail the API would give, anything else is thrown on.
 */
export async function attempt<T> (page: PageContext, change: () => Promise<T>): Promise<{ ok: true, value: T } | { ok: false, status: number, notice: SafeHtml }> {
  try {
    return { ok: true, value: await change() }
  } catch (err) {
    if (!(err instanceof HubProblem) || !['BAD_REQUEST', 'CONFLICT', 'NOT_FOUND'].includes(err.code)) throw err
    return { ok: false, status: err.status, notice: notice('bad', `${page.t('form.error')}: ${err.detail}`) }
  }
}

/** A secret shown once (a new API key or token), selectable in one click, never put in a URL. */
export function secretNotice (page: PageContext, heading: string, secret: string): SafeHtml {
  return html`<div class="notice ok" role="status"><p>${heading}</p><p><code class="mono secret">${secret}</code></p><p>${page.t('form.secretOnce')}</p></div>`
}
