import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createAgencyApiKey, revokeAgencyCredential } from '../../../admin/agency-admin.js'
import { formatDate } from '../../../console/format.js'
import { html, type SafeHtml } from '../../../console/html.js'
import { csrfField, layout, type PageContext } from '../../../console/layout.js'
import { HubProblem } from '../../../errors/problem.js'
import { agencyOverview, findAgencyCredential, type AgencyOverview } from '../../../store/agency-overview.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { requireRole } from '../../scopes/role-guard.js'
import { pageContext, sendPage } from './page-context.js'
import { acceptForms, attempt, field, notice, secretNotice } from './page-forms.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const CODE = /^[A-Za-z0-9.]{1,64}$/

type Credential = AgencyOverview['credentials'][number]

function credentialState (page: PageContext, c: Credential): SafeHtml {
  return c.revokedAt != null
    ? html`<span class="state tone-muted">${page.t('agency.cred.revoked', { date: formatDate(c.revokedAt) })}</span>`
    : html`<span class="state tone-ok">${page.t('agency.cred.active')}</span>`
}

/**
 * The admin's agency pages (docs/console.md): the registry's agencies with their delivery and
 * live credentials, and one agency's page where API keys are issued (the key shown once) and
 * credentials revoked. Reads and changes are the admin API's (src/store/agency-overview.ts,
 * src/admin/agency-admin.ts), audited in the same transaction as the change.
 */
export default async function adminAgencyPages (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  acceptForms(app)
  app.addHook('onRequest', requireRole('admin'))

  app.get('/admin/agencies', { schema: { hide: true } }, async (request, reply) => {
    const page = pageContext(request, reply)
    const { t } = page
    const agencies = await agencyOverview(ctx.db)
    const body = html`<table>
<thead><tr><th scope="col">${t('agencies.col.code')}</th><th scope="col">${t('agencies.col.name')}</th><th scope="col">${t('agencies.col.delivery')}</th>
<th scope="col">${t('agencies.col.credentials')}</th></tr></thead>
<tbody>${agencies.map((a) => html`<tr data-agency="${a.code}">
  <th scope="row"><a href="/console/admin/agencies/${a.code}">${a.code}</a></th><td>${a.name}</td>
  <td>${t(`agencies.delivery.${a.deliveryMode}`)}${a.pushUrl != null ? html`<div class="mono">${a.pushUrl}</div>` : ''}${a.allowWeakAlgorithms ? html`<div><span class="state tone-wait">${t('agencies.weak')}</span></div>` : ''}</td>
  <td>${a.credentials.filter((c) => c.revokedAt == null).length}</td>
</tr>`)}</tbody></table>`
    return sendPage(reply, layout(page, t('agencies.title'), 'agencies', body))
  })

  const agencyPage = async (request: FastifyRequest, reply: FastifyReply, code: string, top?: { status?: number, notice: SafeHtml }): Promise<FastifyReply> => {
    const page = pageContext(request, reply)
    const { t } = page
    const agency = CODE.test(code) ? (await agencyOverview(ctx.db)).find((a) => a.code === code) : undefined
    if (agency == null) throw new HubProblem('NOT_FOUND', 'no such agency')
    const q = request.query as Record<string, unknown>
    const body = html`
${q.done === 'revoked' ? notice('ok', t('agency.cred.revokedNotice')) : ''}
${top?.notice}
<dl class="facts">
  <dt>${t('agencies.col.code')}</dt><dd>${agency.code}</dd>
  <dt>${t('agencies.col.name')}</dt><dd>${agency.name}</dd>
  <dt>${t('agencies.col.delivery')}</dt><dd>${t(`agencies.delivery.${agency.deliveryMode}`)}</dd>
  <dt>${t('agency.pushUrl')}</dt><dd class="mono">${agency.pushUrl ?? ''}</dd>
  <dt>${t('agencies.weak')}</dt><dd>${agency.allowWeakAlgorithms ? html`<span class="state tone-wait">✓</span>` : t('form.none')}</dd>
</dl>
<h2>${t('agency.credentials')}</h2>
${agency.credentials.length === 0
  ? html`<p>${t('form.none')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('agency.cred.kind')}</th><th scope="col">${t('agency.cred.label')}</th><th scope="col">${t('agency.cred.id')}</th>
<th scope="col">${t('agency.cred.created')}</th><th scope="col">${t('agency.cred.state')}</th></tr></thead>
<tbody>${agency.credentials.map((c) => html`<tr data-credential="${c.id}">
  <td>${t(`agency.cred.kind.${c.kind}`)}</td><td>${c.label}</td><td class="mono">${c.keyPrefix ?? c.certFingerprint ?? ''}</td><td>${formatDate(c.createdAt)}</td>
  <td>${credentialState(page, c)}${c.revokedAt == null
    ? html`<form class="inline" method="post" action="/console/admin/agency-credentials/${c.id}/revoke">${csrfField(page)}<button type="submit">${t('agency.cred.revoke')}</button></form>`
    : ''}</td>
</tr>`)}</tbody></table>`}
<h2>${t('agency.key.new')}</h2>
<form class="filters" method="post" action="/console/admin/agencies/${agency.code}/api-keys">
  ${csrfField(page)}
  <label>${t('agency.key.label')}<input name="label" maxlength="200"></label>
  <button class="primary" type="submit">${t('agency.key.issue')}</button>
</form>`
    return sendPage(reply, layout(page, t('agency.title', { code: agency.code }), 'agencies', body), top?.status)
  }

  app.get('/admin/agencies/:code', { schema: { hide: true } }, async (request, reply) => await agencyPage(request, reply, (request.params as { code: string }).code))

  // The new key is shown in this answer only (no redirect: a secret never goes into a URL).
  app.post('/admin/agencies/:code/api-keys', { schema: { hide: true }, bodyLimit: 64 * 1024 }, async (request, reply) => {
    const code = (request.params as { code: string }).code
    if (!CODE.test(code)) throw new HubProblem('NOT_FOUND', 'no such agency')
    const page = pageContext(request, reply)
    const label = field(((request.body ?? {}) as Record<string, unknown>).label) ?? ''
    const result = await attempt(page, async () => await createAgencyApiKey(ctx.db, auditActorOf(request), code, label))
    if (!result.ok) return await agencyPage(request, reply, code, result)
    return await agencyPage(request, reply, code, { status: 201, notice: secretNotice(page, page.t('agency.key.issued', { code }), result.value.key) })
  })

  app.post('/admin/agency-credentials/:id/revoke', { schema: { hide: true } }, async (request, reply) => {
    const id = (request.params as { id: string }).id
    const found = UUID.test(id) ? await findAgencyCredential(ctx.db, id) : undefined
    if (found == null) throw new HubProblem('NOT_FOUND', 'no such credential')
    const result = await attempt(pageContext(request, reply), async () => await revokeAgencyCredential(ctx.db, auditActorOf(request), id))
    if (!result.ok) return await agencyPage(request, reply, found.agencyCode, result)
    return await reply.code(303).header('location', `/console/admin/agencies/${found.agencyCode}?done=revoked`).send()
  })
}
