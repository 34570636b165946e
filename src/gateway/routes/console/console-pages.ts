import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { formatDate, stateLabel, stateTone, statusLabel } from '../../../console/format.js'
import { html, type SafeHtml } from '../../../console/html.js'
import { csrfField, layout, type PageContext } from '../../../console/layout.js'
import { resendDelivery } from '../../../delivery/operator-controls.js'
import { HubProblem } from '../../../errors/problem.js'
import { recordAudit } from '../../../store/admin-audit.js'
import { decodeCursor, encodeCursor, listConsoleDocuments, listSignatureLog, type DocumentCursor } from '../../../store/console-documents.js'
import { deleteSession } from '../../../store/user-sessions.js'
import { getDocumentView, getReceipt, getReceiptVisibleTo } from '../../../store/documents.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { assertConsoleCsrf } from '../../scopes/console-authenticator.js'
import { readCookie, SESSION_COOKIE } from '../../scopes/principal-authenticator.js'
import { agencyFilterFor, assertRole, mayReadDocument, principalOf } from '../../scopes/role-guard.js'
import { sessionCookie } from '../api/session.js'
import { formParser, pageContext, sendPage } from './page-context.js'

const PAGE_SIZE = 50
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const RECEIPT_KINDS = new Set(['acceptance', 'delivery', 'failure'])

function text (value: unknown, max = 200): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : undefined
}

function stateBadge (page: PageContext, state: string): SafeHtml {
  return html`<span class="state tone-${stateTone(state)}">${stateLabel(page.t, state)}</span>`
}

function numberOf (row: { number: string | null, notation: string | null }): string {
  return [row.number, row.notation].filter((p) => p != null && p !== '').join('/')
}

/** The same page's URL with other query values (filters kept, cursors replaced). */
function withQuery (path: string, query: Record<string, string | undefined>): string {
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

  const listPage = (direction: 'sent' | 'received') => async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const principal = principalOf(request)
    const page = pageContext(request, reply)
    const { t } = page
    const q = request.query as Record<string, unknown>
    const filters = { number: text(q.number), subject: text(q.subject), agency: text(q.agency, 64) }
    const agency = agencyFilterFor(principal, filters.agency ?? null)
    const after = decodeCursor(text(q.after))
    const before = decodeCursor(text(q.before))
    const result = await listConsoleDocuments(ctx.db, {
      direction,
      agency,
      ...(filters.number != null ? { number: filters.number } : {}),
      ...(filters.subject != null ? { subject: filters.subject } : {}),
      ...(after != null ? { after } : before != null ? { before } : {}),
      limit: PAGE_SIZE
    })
    const path = `/console/${direction}`
    const link = (cursor: DocumentCursor, key: 'after' | 'before'): string => withQuery(path, { ...filters, [key]: encodeCursor(cursor) })
    const title = t(direction === 'sent' ? 'list.sent.title' : 'list.received.title')
    const body = html`
<form class="filters" method="get" action="${path}" role="search" aria-label="${t('list.filter')}">
  <label>${t('list.filter.number')}<input name="number" value="${filters.number ?? ''}"></label>
  <label>${t('list.filter.subject')}<input name="subject" value="${filters.subject ?? ''}"></label>
  ${principal.role !== 'clerk' ? html`<label>${t('list.filter.agency')}<input name="agency" value="${filters.agency ?? ''}"></label>` : ''}
  <button class="primary" type="submit">${t('list.filter.apply')}</button>
  <a href="${path}">${t('list.filter.clear')}</a>
</form>
${result.rows.length === 0
  ? html`<p>${t('list.empty')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('list.col.number')}</th><th scope="col">${t('list.col.subject')}</th>
<th scope="col">${t(direction === 'sent' ? 'list.col.recipients' : 'list.col.sender')}</th><th scope="col">${t('list.col.accepted')}</th></tr></thead>
<tbody>
${result.rows.map((row) => html`<tr>
  <td><a href="/console/documents/${row.id}">${numberOf(row) !== '' ? numberOf(row) : row.id.slice(0, 8)}</a></td>
  <td>${row.subject ?? ''}</td>
  <td>${direction === 'sent'
    ? row.deliveries.map((d) => html`<div>${d.recipient} ${stateBadge(page, d.state)}</div>`)
    : html`${row.sender} ${row.deliveries.filter((d) => agency == null || d.recipient === agency).map((d) => stateBadge(page, d.state))}`}</td>
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

  /** The document, or NOT_FOUND when it does not exist or the clerk's agency is not a party. */
  const readableDocument = async (request: FastifyRequest, id: string): Promise<NonNullable<Awaited<ReturnType<typeof getDocumentView>>>> => {
    const principal = principalOf(request)
    const view = UUID.test(id) ? await getDocumentView(ctx.db, id) : undefined
    if (view == null || !mayReadDocument(principal, { sender: view.sender, recipients: view.deliveries.map((d) => d.recipient) })) {
      throw new HubProblem('NOT_FOUND', 'no such document')
    }
    return view
  }

  app.get('/documents/:id', { schema: { hide: true } }, async (request, reply) => {
    const principal = principalOf(request)
    const page = pageContext(request, reply)
    const { t } = page
    const id = (request.params as { id: string }).id
    const view = await readableDocument(request, id)
    const q = request.query as Record<string, unknown>
    const code = view.envelope.code as { number?: string, notation?: string } | undefined
    const number = numberOf({ number: code?.number ?? null, notation: code?.notation ?? null })
    // A clerk of a recipient agency sees its own delivery only, as the API shows it.
    const own = principal.role === 'clerk' && view.sender !== principal.agencyCode ? principal.agencyCode : null
    const deliveries = view.deliveries.filter((d) => own == null || d.recipient === own)
    const mayResend = principal.role === 'clerk' && view.sender === principal.agencyCode
    const receiptLink = (kind: string, deliveryId?: string): SafeHtml =>
      html`<a href="/console/documents/${view.id}/receipts/${kind}${deliveryId != null ? `?delivery=${deliveryId}` : ''}" download>${t(`doc.receipt.${kind}` as 'doc.receipt.delivery')}</a>`
    const body = html`
${q.resent === '1' ? html`<p class="notice ok" role="status">${t('doc.resent')}</p>` : ''}
${typeof q.refused === 'string' ? html`<p class="notice bad" role="alert">${t('doc.resendRefused')}: ${q.refused}</p>` : ''}
<dl class="facts">
  <dt>${t('doc.number')}</dt><dd>${number}</dd>
  <dt>${t('doc.subject')}</dt><dd>${String(view.envelope.subject ?? '')}</dd>
  <dt>${t('doc.sender')}</dt><dd>${view.sender}</dd>
  <dt>${t('doc.accepted')}</dt><dd>${formatDate(view.acceptedAt)}</dd>
  <dt>${t('doc.receipts')}</dt><dd>${view.receipts.some((r) => r.kind === 'acceptance') ? receiptLink('acceptance') : ''}</dd>
</dl>
<h2>${t('doc.recipients')}</h2>
<table>
<thead><tr><th scope="col">${t('list.col.recipients')}</th><th scope="col">${t('list.col.state')}</th><th scope="col">${t('doc.attempts')}</th>
<th scope="col">${t('doc.lastError')}</th><th scope="col">${t('doc.updated')}</th><th scope="col">${t('doc.statusEvents')}</th><th scope="col">${t('doc.receipts')}</th></tr></thead>
<tbody>
${deliveries.map((d) => {
  const events = view.statusEvents.filter((e) => e.recipient === d.recipient)
  const receipts = view.receipts.filter((r) => r.deliveryId === d.id)
  return html`<tr data-recipient="${d.recipient}">
  <th scope="row">${d.recipient}</th>
  <td>${stateBadge(page, d.state)}
    ${mayResend && (d.state === 'failed' || d.state === 'cancelled')
      ? html`<form method="post" action="/console/deliveries/${d.id}/resend">${csrfField(page)}<button type="submit">${t('doc.resend')}</button></form>`
      : ''}</td>
  <td>${d.attempts}</td>
  <td>${d.lastError ?? ''}</td>
  <td>${formatDate(d.updatedAt)}</td>
  <td>${events.length === 0 ? t('doc.noStatus') : html`<ol>${events.map((e) => html`<li>${statusLabel(t, e.statusCode)} · ${formatDate(e.recordedAt)}${e.description != null ? html` · ${e.description}` : ''}</li>`)}</ol>`}</td>
  <td>${receipts.map((r) => html`<div>${receiptLink(r.kind, d.id)}</div>`)}</td>
</tr>`
})}
</tbody></table>`
    return sendPage(reply, layout(page, `${t('doc.title')} ${number}`, principal.role === 'clerk' && view.sender !== principal.agencyCode ? 'received' : 'sent', body))
  })

  app.get('/documents/:id/receipts/:kind', { schema: { hide: true } }, async (request, reply) => {
    const principal = principalOf(request)
    const { id, kind } = request.params as { id: string, kind: string }
    const view = await readableDocument(request, id)
    if (!RECEIPT_KINDS.has(kind)) throw new HubProblem('NOT_FOUND', 'no such receipt')
    const deliveryId = text((request.query as Record<string, unknown>).delivery, 36)
    let xml: string | undefined
    if (deliveryId != null) {
      // One recipient's receipt: that delivery must be one the person may see.
      const delivery = view.deliveries.find((d) => d.id === deliveryId)
      const mine = principal.role !== 'clerk' || view.sender === principal.agencyCode || delivery?.recipient === principal.agencyCode
      if (delivery != null && mine) {
        const { rows } = await ctx.db.query<{ xml: string }>('SELECT xml FROM receipts WHERE document_id = $1 AND delivery_id = $2 AND kind = $3 ORDER BY created_at DESC LIMIT 1', [view.id, deliveryId, kind])
        xml = rows[0]?.xml
      }
    } else {
      xml = principal.role === 'clerk' ? await getReceiptVisibleTo(ctx.db, view.id, kind, principal.agencyCode as string) : await getReceipt(ctx.db, view.id, kind)
    }
    if (xml == null) throw new HubProblem('NOT_FOUND', 'no such receipt')
    return await reply.header('content-type', 'application/xml; charset=utf-8')
      .header('content-disposition', `attachment; filename="receipt-${kind}-${view.id}${deliveryId != null ? `-${deliveryId}` : ''}.xml"`)
      .send(xml)
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
    const filters = { reason: text(q.reason, 64), verdict: text(q.verdict, 16), agency: text(q.agency, 64) }
    const beforeId = typeof q.before === 'string' && /^\d{1,18}$/.test(q.before) ? Number(q.before) : undefined
    const result = await listSignatureLog(ctx.db, {
      ...(filters.reason != null ? { reasonCode: filters.reason } : {}),
      ...(filters.verdict != null ? { verdict: filters.verdict } : {}),
      ...(filters.agency != null ? { agency: filters.agency } : {}),
      ...(beforeId != null ? { beforeId } : {}),
      limit: PAGE_SIZE
    })
    const verdicts = ['accepted', 'rejected', 'duplicate'] as const
    const body = html`
<form class="filters" method="get" action="/console/signature-log" role="search" aria-label="${t('list.filter')}">
  <label>${t('log.filter.reason')}<input name="reason" value="${filters.reason ?? ''}"></label>
  <label>${t('log.filter.verdict')}<select name="verdict"><option value="">${t('log.filter.any')}</option>
    ${verdicts.map((v) => v === filters.verdict ? html`<option value="${v}" selected>${t(`log.verdict.${v}`)}</option>` : html`<option value="${v}">${t(`log.verdict.${v}`)}</option>`)}</select></label>
  <label>${t('log.filter.agency')}<input name="agency" value="${filters.agency ?? ''}"></label>
  <button class="primary" type="submit">${t('list.filter.apply')}</button>
  <a href="/console/signature-log">${t('list.filter.clear')}</a>
  <a href="${withQuery('/console/signature-log.csv', { reason: filters.reason, verdict: filters.verdict, agency: filters.agency })}" download>${t('log.export')}</a>
</form>
${result.rows.length === 0
  ? html`<p>${t('log.empty')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('log.col.id')}</th><th scope="col">${t('log.col.time')}</th><th scope="col">${t('log.col.agency')}</th><th scope="col">${t('log.col.document')}</th>
<th scope="col">${t('log.col.verdict')}</th><th scope="col">${t('log.col.reason')}</th><th scope="col">${t('log.col.signer')}</th></tr></thead>
<tbody>${result.rows.map((r) => html`<tr>
  <td>${r.id}</td><td>${formatDate(r.loggedAt)}</td><td>${r.agency ?? ''}</td>
  <td class="mono">${r.hubDocumentId != null ? html`<a href="/console/documents/${r.hubDocumentId}">${r.edxmlDocumentId ?? r.hubDocumentId}</a>` : (r.edxmlDocumentId ?? '')}</td>
  <td><span class="state tone-${r.verdict === 'accepted' ? 'ok' : r.verdict === 'rejected' ? 'bad' : 'muted'}">${t(`log.verdict.${r.verdict as 'accepted'}`)}</span></td>
  <td class="mono">${r.reasonCode ?? ''}</td><td>${r.certSubject ?? ''}</td>
</tr>`)}</tbody></table>`}
<nav class="pages" aria-label="${t('list.pagination')}">
  ${result.nextBeforeId != null ? html`<a rel="next" href="${withQuery('/console/signature-log', { reason: filters.reason, verdict: filters.verdict, agency: filters.agency, before: String(result.nextBeforeId) })}">${t('list.next')} →</a>` : ''}
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
