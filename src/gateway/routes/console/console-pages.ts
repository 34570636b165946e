import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { formatDate, stateLabel, stateTone, statusLabel } from '../../../console/format.js'
import { html, type SafeHtml } from '../../../console/html.js'
import { csrfField, layout, type PageContext } from '../../../console/layout.js'
import { resendDelivery } from '../../../delivery/operator-controls.js'
import type { StaffInfo } from '../../../domain/verdict.js'
import { HubProblem } from '../../../errors/problem.js'
import { searchSignatureLog, type SignatureLogPage } from '../../../evidence/signature-log-search.js'
import { recordAudit } from '../../../store/admin-audit.js'
import { documentParties, documentTimeline, listTracked, receiptById, type Direction, type TrackedPage, type TrackingFilter } from '../../../store/tracking.js'
import { deleteSession } from '../../../store/user-sessions.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { assertConsoleCsrf } from '../../scopes/console-authenticator.js'
import { readCookie, SESSION_COOKIE } from '../../scopes/principal-authenticator.js'
import { agencyFilterFor, assertRole, mayReadDocument, mayReadReceipt, principalOf } from '../../scopes/role-guard.js'
import { sessionCookie } from '../api/session.js'
import { formParser, pageContext, sendPage } from './page-context.js'
import { logFilters, signatureLogFilterOf, type LogPageFilters } from './signature-log-filters.js'

const PAGE_SIZE = 50
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const DELIVERY_STATES = ['queued', 'sending', 'waiting_retry', 'available', 'downloaded', 'delivered', 'acknowledged', 'failed', 'cancelled'] as const

function text (value: unknown, max = 200): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : undefined
}

function oneOf<T extends string> (value: unknown, allowed: readonly T[]): T | undefined {
  return allowed.includes(value as T) ? value as T : undefined
}

/**
 * The one "Số/ký hiệu" box as the tracking filters: "12/UBND-VP" is number 12 (exactly) with
 * "UBND-VP" in the notation; digits alone are a number; any other text is part of a notation.
 */
export function numberFilter (input: string | undefined): Pick<TrackingFilter, 'number' | 'notation'> {
  if (input == null) return {}
  const slash = input.indexOf('/')
  if (slash >= 0) {
    const number = input.slice(0, slash).trim()
    const notation = input.slice(slash + 1).trim()
    return { ...(number !== '' ? { number } : {}), ...(notation !== '' ? { notation } : {}) }
  }
  return /^\d+$/.test(input) ? { number: input } : { notation: input }
}

/** "Nguyễn Văn A (Văn thư)" from a status message's StaffInfo; '' when it named nobody. */
function staffOf (staff: StaffInfo | undefined): string {
  if (staff == null) return ''
  const who = [staff.staff, staff.department != null ? `(${staff.department})` : undefined].filter((p) => p != null).join(' ')
  const contact = [staff.email, staff.mobile].filter((p) => p != null).join(', ')
  return contact !== '' ? `${who} ${contact}`.trim() : who
}

function stateBadge (page: PageContext, state: string): SafeHtml {
  return html`<span class="state tone-${stateTone(state)}">${stateLabel(page.t, state)}</span>`
}

function numberOf (row: { number: string | null, notation: string | null }): string {
  return [row.number, row.notation].filter((p) => p != null && p !== '').join('/')
}

/** The same page's URL with other query values (filters kept, cursors replaced). */
function withQuery (path: string, query: Record<string, string | undefined> | LogPageFilters): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v != null && v !== '') params.set(k, v)
  const qs = params.toString()
  return qs === '' ? path : `${path}?${qs}`
}

/**
 * The console's pages, server-rendered (docs/console.md): document lists, a document's
 * per-recipient timeline with receipts and resend, the signature log. Every read goes through
 * the same role and agency checks as the /api routes (role-guard.ts): a clerk's lists are its
 * agency's only, and another agency's document is "not found", as in the API.
 */
export default async function consolePages (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, formParser)
  app.addHook('preHandler', async (request) => { assertConsoleCsrf(request) })

  // Only /console (the address printed at start), not /console/ too.
  app.get('/', { schema: { hide: true }, prefixTrailingSlash: 'no-slash' }, async (request, reply) => {
    const principal = principalOf(request)
    return await reply.code(303).header('location', principal.role === 'clerk' ? '/console/sent' : '/console/signature-log').send()
  })

  const listPage = (direction: Direction) => async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const principal = principalOf(request)
    const page = pageContext(request, reply)
    const { t } = page
    const q = request.query as Record<string, unknown>
    const filters = { number: text(q.number), subject: text(q.subject, 500), agency: text(q.agency, 64), state: oneOf(q.state, DELIVERY_STATES) }
    const agency = agencyFilterFor(principal, filters.agency ?? null)
    const after = text(q.after)
    const before = text(q.before)
    // The tracking API's own query (src/store/tracking.ts): the same filters, indexes and agency
    // scoping as GET /api/documents. A cursor that is not one of this list starts from the newest.
    const list = async (cursor: { after?: string, before?: string }): Promise<TrackedPage | 'bad-cursor'> => await listTracked(ctx.db, {
      direction,
      agency,
      ...numberFilter(filters.number),
      ...(filters.subject != null ? { subject: filters.subject } : {}),
      ...(filters.state != null ? { state: filters.state } : {})
    }, { limit: PAGE_SIZE, ...cursor })
    let result = await list(after != null ? { after } : before != null ? { before } : {})
    if (result === 'bad-cursor') result = await list({}) as TrackedPage
    const path = `/console/${direction}`
    const link = (cursor: string, key: 'after' | 'before'): string => withQuery(path, { ...filters, [key]: cursor })
    const title = t(direction === 'sent' ? 'list.sent.title' : 'list.received.title')
    const body = html`
<form class="filters" method="get" action="${path}" role="search" aria-label="${t('list.filter')}">
  <label>${t('list.filter.number')}<input name="number" value="${filters.number ?? ''}"></label>
  <label>${t('list.filter.subject')}<input name="subject" value="${filters.subject ?? ''}"></label>
  <label>${t('list.filter.state')}<select name="state"><option value="">${t('list.filter.anyState')}</option>
    ${DELIVERY_STATES.map((v) => v === filters.state ? html`<option value="${v}" selected>${stateLabel(t, v)}</option>` : html`<option value="${v}">${stateLabel(t, v)}</option>`)}</select></label>
  ${principal.role !== 'clerk' ? html`<label>${t('list.filter.agency')}<input name="agency" value="${filters.agency ?? ''}"></label>` : ''}
  <button class="primary" type="submit">${t('list.filter.apply')}</button>
  <a href="${path}">${t('list.filter.clear')}</a>
</form>
${result.documents.length === 0
  ? html`<p>${t('list.empty')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('list.col.number')}</th><th scope="col">${t('list.col.subject')}</th>
<th scope="col">${t(direction === 'sent' ? 'list.col.recipients' : 'list.col.sender')}</th><th scope="col">${t('list.col.accepted')}</th></tr></thead>
<tbody>
${result.documents.map((row) => html`<tr>
  <td><a href="/console/documents/${row.id}">${numberOf(row) !== '' ? numberOf(row) : row.id.slice(0, 8)}</a></td>
  <td>${row.subject ?? ''}</td>
  <td>${direction === 'sent'
    ? row.recipients.map((d) => html`<div>${d.recipient} ${stateBadge(page, d.state)}</div>`)
    : html`${row.sender} ${row.recipients.filter((d) => agency == null || d.recipient === agency).map((d) => stateBadge(page, d.state))}`}</td>
  <td>${formatDate(row.acceptedAt)}</td>
</tr>`)}
</tbody></table>`}
<nav class="pages" aria-label="${t('list.pagination')}">
  ${result.previous != null ? html`<a rel="prev" href="${link(result.previous, 'before')}">← ${t('list.previous')}</a>` : ''}
  ${result.next != null ? html`<a rel="next" href="${link(result.next, 'after')}">${t('list.next')} →</a>` : ''}
</nav>`
    return sendPage(reply, layout(page, title, direction, body))
  }
  app.get('/sent', { schema: { hide: true } }, listPage('sent'))
  app.get('/received', { schema: { hide: true } }, listPage('received'))

  app.get('/documents/:id', { schema: { hide: true } }, async (request, reply) => {
    const principal = principalOf(request)
    const page = pageContext(request, reply)
    const { t } = page
    const id = (request.params as { id: string }).id
    // The API's timeline (src/store/tracking.ts) behind the API's checks: another agency's
    // document is "not found", and a clerk of a recipient agency sees its own delivery only.
    const parties = UUID.test(id) ? await documentParties(ctx.db, id) : undefined
    if (parties == null || !mayReadDocument(principal, parties)) throw new HubProblem('NOT_FOUND', 'no such document')
    const own = principal.role === 'clerk' && parties.sender !== principal.agencyCode ? principal.agencyCode : null
    const view = await documentTimeline(ctx.db, id, own)
    if (view == null) throw new HubProblem('NOT_FOUND', 'no such document')
    const q = request.query as Record<string, unknown>
    const number = numberOf(view)
    const mayResend = principal.role === 'clerk' && view.sender === principal.agencyCode
    const receiptLink = (kind: string, receiptId: string): SafeHtml =>
      html`<a href="/console/receipts/${receiptId}" download>${t(`doc.receipt.${kind}` as 'doc.receipt.delivery')}</a>`
    const body = html`
${q.resent === '1' ? html`<p class="notice ok" role="status">${t('doc.resent')}</p>` : ''}
${typeof q.refused === 'string' ? html`<p class="notice bad" role="alert">${t('doc.resendRefused')}: ${q.refused}</p>` : ''}
<dl class="facts">
  <dt>${t('doc.number')}</dt><dd>${number}</dd>
  <dt>${t('doc.subject')}</dt><dd>${view.subject ?? ''}</dd>
  <dt>${t('doc.sender')}</dt><dd>${view.sender}</dd>
  <dt>${t('doc.accepted')}</dt><dd>${formatDate(view.acceptedAt)}</dd>
  <dt>${t('doc.receipts')}</dt><dd>${view.acceptanceReceiptId != null ? receiptLink('acceptance', view.acceptanceReceiptId) : ''}</dd>
</dl>
<h2>${t('doc.recipients')}</h2>
<table>
<thead><tr><th scope="col">${t('list.col.recipients')}</th><th scope="col">${t('list.col.state')}</th><th scope="col">${t('doc.attempts')}</th>
<th scope="col">${t('doc.lastError')}</th><th scope="col">${t('doc.updated')}</th><th scope="col">${t('doc.statusEvents')}</th><th scope="col">${t('doc.receipts')}</th></tr></thead>
<tbody>
${view.recipients.map((d) => {
  const statuses = d.events.filter((e) => e.kind === 'status')
  const receipts = d.events.filter((e) => e.receiptId != null && e.kind !== 'acceptance-receipt')
  const last = d.events[d.events.length - 1]
  return html`<tr data-recipient="${d.recipient}">
  <th scope="row">${d.recipient}</th>
  <td>${stateBadge(page, d.state)}
    ${mayResend && (d.state === 'failed' || d.state === 'cancelled')
      ? html`<form method="post" action="/console/deliveries/${d.deliveryId}/resend">${csrfField(page)}<button type="submit">${t('doc.resend')}</button></form>`
      : ''}</td>
  <td>${d.attempts}</td>
  <td>${d.lastError ?? ''}</td>
  <td>${last != null ? formatDate(last.at) : ''}</td>
  <td>${statuses.length === 0 ? t('doc.noStatus') : html`<ol>${statuses.map((e) => html`<li>${statusLabel(t, e.statusCode ?? '')} · ${formatDate(e.at)}${e.detail != null ? html` · ${e.detail}` : ''}${staffOf(e.staff) !== '' ? html` · <span class="staff">${staffOf(e.staff)}</span>` : ''}</li>`)}</ol>`}</td>
  <td>${receipts.map((r) => html`<div>${receiptLink(r.kind.replace(/-receipt$/, ''), r.receiptId as string)}</div>`)}</td>
</tr>`
})}
</tbody></table>`
    return sendPage(reply, layout(page, `${t('doc.title')} ${number}`, own != null ? 'received' : 'sent', body))
  })

  app.get('/receipts/:id', { schema: { hide: true } }, async (request, reply) => {
    const principal = principalOf(request)
    const id = (request.params as { id: string }).id
    // The API's receipt rule (role-guard.ts mayReadReceipt): one the person may not see is "not found".
    const receipt = UUID.test(id) ? await receiptById(ctx.db, id) : undefined
    if (receipt == null || !(await mayReadReceipt(principal, receipt, async () => (await documentParties(ctx.db, receipt.documentId))?.recipients ?? []))) {
      throw new HubProblem('NOT_FOUND', 'no such receipt')
    }
    return await reply.header('content-type', 'application/xml; charset=utf-8')
      .header('content-disposition', `attachment; filename="receipt-${receipt.kind}-${id}.xml"`)
      .send(receipt.xml)
  })

  app.post('/deliveries/:id/resend', { schema: { hide: true } }, async (request, reply) => {
    const principal = principalOf(request)
    assertRole(principal, 'clerk')
    const id = (request.params as { id: string }).id
    if (!UUID.test(id)) throw new HubProblem('NOT_FOUND', 'no such delivery')
    // The audit row is written in the resend's own transaction: no resend without its record.
    const result = await resendDelivery(ctx.db, ctx.queue, id, `user:${principal.username}`, principal.agencyCode as string, async (tx, state) => {
      await recordAudit(tx, auditActorOf(request), { action: 'delivery.resend', target: `delivery:${id}`, after: { state } })
    })
    if (!result.ok && result.reason === 'not-found') throw new HubProblem('NOT_FOUND', 'no such delivery')
    const { rows } = await ctx.db.query<{ document_id: string }>('SELECT document_id FROM deliveries WHERE id = $1', [id])
    const documentId = rows[0]?.document_id as string
    if (!result.ok) return await reply.code(303).header('location', withQuery(`/console/documents/${documentId}`, { refused: result.detail })).send()
    return await reply.code(303).header('location', `/console/documents/${documentId}?resent=1`).send()
  })

  app.get('/signature-log', { schema: { hide: true } }, async (request, reply) => {
    const principal = principalOf(request)
    assertRole(principal, 'auditor', 'admin')
    const page = pageContext(request, reply)
    const { t } = page
    const q = request.query as Record<string, unknown>
    const filters = logFilters(q)
    const filter = signatureLogFilterOf(filters)
    // The auditor API's search (src/evidence/signature-log-search.ts); a cursor that is not one
    // it issued starts from the newest.
    const after = text(q.after)
    let result = await searchSignatureLog(ctx.db, filter, { limit: PAGE_SIZE, ...(after != null ? { after } : {}) })
    if (result === 'bad-cursor') result = await searchSignatureLog(ctx.db, filter, { limit: PAGE_SIZE }) as SignatureLogPage
    const verdicts = ['accepted', 'rejected', 'duplicate'] as const
    const body = html`
<form class="filters" method="get" action="/console/signature-log" role="search" aria-label="${t('list.filter')}">
  <label>${t('log.filter.reason')}<input name="reason" value="${filters.reason ?? ''}"></label>
  <label>${t('log.filter.verdict')}<select name="verdict"><option value="">${t('log.filter.any')}</option>
    ${verdicts.map((v) => v === filters.verdict ? html`<option value="${v}" selected>${t(`log.verdict.${v}`)}</option>` : html`<option value="${v}">${t(`log.verdict.${v}`)}</option>`)}</select></label>
  <label>${t('log.filter.agency')}<input name="agency" value="${filters.agency ?? ''}"></label>
  <button class="primary" type="submit">${t('list.filter.apply')}</button>
  <a href="/console/signature-log">${t('list.filter.clear')}</a>
  <a href="${withQuery('/console/signature-log.csv', filters)}" download>${t('log.export')}</a>
</form>
${result.entries.length === 0
  ? html`<p>${t('log.empty')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('log.col.id')}</th><th scope="col">${t('log.col.time')}</th><th scope="col">${t('log.col.agency')}</th><th scope="col">${t('log.col.document')}</th>
<th scope="col">${t('log.col.verdict')}</th><th scope="col">${t('log.col.reason')}</th><th scope="col">${t('log.col.signer')}</th></tr></thead>
<tbody>${result.entries.map((r) => html`<tr>
  <td>${r.id}</td><td>${formatDate(r.loggedAt)}</td><td>${r.authenticatedAgency ?? r.claimedAgency ?? ''}</td>
  <td class="mono">${r.hubDocumentId != null ? html`<a href="/console/documents/${r.hubDocumentId}">${r.edxmlDocumentId ?? r.hubDocumentId}</a>` : (r.edxmlDocumentId ?? '')}</td>
  <td><span class="state tone-${r.verdict === 'accepted' ? 'ok' : r.verdict === 'rejected' ? 'bad' : 'muted'}">${t(`log.verdict.${r.verdict as 'accepted'}`)}</span></td>
  <td class="mono">${r.reasonCode ?? ''}</td><td>${r.signer?.subject ?? ''}</td>
</tr>`)}</tbody></table>`}
<nav class="pages" aria-label="${t('list.pagination')}">
  ${result.next != null ? html`<a rel="next" href="${withQuery('/console/signature-log', { ...filters, after: result.next })}">${t('list.next')} →</a>` : ''}
</nav>`
    return sendPage(reply, layout(page, t('log.title'), 'signature-log', body))
  })

  app.post('/logout', { schema: { hide: true } }, async (request, reply) => {
    const principal = principalOf(request)
    const secret = readCookie(request.headers.cookie, SESSION_COOKIE)
    if (secret != null) await deleteSession(ctx.db, secret)
    await recordAudit(ctx.db, auditActorOf(request), { action: 'session.logout', target: `user:${principal.username}` })
    return await reply.code(303).header('set-cookie', sessionCookie(request, ctx, '', 0)).header('location', '/console/login').send()
  })
}
