import type { FastifyInstance } from 'fastify'
import { formatDate } from '../../../console/format.js'
import { html } from '../../../console/html.js'
import { layout } from '../../../console/layout.js'
import { listAudit } from '../../../store/admin-audit.js'
import type { HubContext } from '../../hub-context.js'
import { requireRole } from '../../scopes/role-guard.js'
import { pageContext, sendPage } from './page-context.js'
import { field, withQuery } from './page-forms.js'

const PAGE_SIZE = 50

/** What changed, in one line: the before/after objects as compact JSON (values escaped by `html`). */
function change (before: unknown, after: unknown): string {
  const show = (v: unknown): string => v == null ? '' : JSON.stringify(v)
  if (before == null) return show(after)
  if (after == null) return show(before)
  return `${show(before)} → ${show(after)}`
}

/**
 * GET /console/admin/audit: the admin audit trail (who changed what, when, from where), newest
 * first, 50 a page, filters by action and target, keyset "older" link: listAudit, the store
 * function of GET /api/admin/audit. Admins only, like the API.
 */
export default async function adminAuditPage (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  app.addHook('onRequest', requireRole('admin'))

  app.get('/admin/audit', { schema: { hide: true } }, async (request, reply) => {
    const page = pageContext(request, reply)
    const { t } = page
    const q = request.query as Record<string, unknown>
    const filters = { action: field(q.action, 64), target: field(q.target, 200) }
    const before = typeof q.before === 'string' && /^\d{1,18}$/.test(q.before) ? q.before : undefined
    const result = await listAudit(ctx.db, {
      limit: PAGE_SIZE,
      ...(before != null ? { before } : {}),
      ...(filters.action != null ? { action: filters.action } : {}),
      ...(filters.target != null ? { target: filters.target } : {})
    })
    const body = html`
<form class="filters" method="get" action="/console/admin/audit" role="search" aria-label="${t('list.filter')}">
  <label>${t('audit.filter.action')}<input name="action" value="${filters.action ?? ''}"></label>
  <label>${t('audit.filter.target')}<input name="target" value="${filters.target ?? ''}"></label>
  <button class="primary" type="submit">${t('list.filter.apply')}</button>
  <a href="/console/admin/audit">${t('list.filter.clear')}</a>
</form>
${result.entries.length === 0
  ? html`<p>${t('log.empty')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('audit.col.time')}</th><th scope="col">${t('audit.col.actor')}</th><th scope="col">${t('audit.col.action')}</th>
<th scope="col">${t('audit.col.target')}</th><th scope="col">${t('audit.col.source')}</th><th scope="col">${t('audit.col.detail')}</th></tr></thead>
<tbody>${result.entries.map((e) => html`<tr>
  <td>${formatDate(e.at)}</td><td>${e.actor} <span class="muted">(${e.actorVia})</span></td><td class="mono">${e.action}</td>
  <td class="mono">${e.target ?? ''}</td><td class="mono">${e.source ?? ''}</td>
  <td class="mono">${change(e.before, e.after)}${e.detail != null ? html`<div>${e.detail}</div>` : ''}</td>
</tr>`)}</tbody></table>`}
<nav class="pages" aria-label="${t('list.pagination')}">
  ${result.next != null ? html`<a rel="next" href="${withQuery('/console/admin/audit', { ...filters, before: result.next })}">${t('list.next')} →</a>` : ''}
</nav>`
    return sendPage(reply, layout(page, t('audit.title'), 'audit', body))
  })
}
