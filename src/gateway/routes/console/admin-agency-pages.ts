import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { addSigningCertificate, createAgency, createAgencyApiKey, revokeAgencyCredential, revokeAgencySigningCertificate, updateAgency } from '../../../admin/agency-admin.js'
import { formatDate } from '../../../console/format.js'
import { html, SafeHtml } from '../../../console/html.js'
import type { MessageKey } from '../../../console/i18n/messages.js'
import { csrfField, layout, type PageContext } from '../../../console/layout.js'
import { HubProblem } from '../../../errors/problem.js'
import { storedAgencies } from '../../../registry/registry-db.js'
import type { AgencyEntry } from '../../../registry/registry-format.js'
import { agencyOverview, findAgencyCredential, type AgencyOverview } from '../../../store/agency-overview.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { requireRole } from '../../scopes/role-guard.js'
import { propagate } from '../api/admin-agencies.js'
import { pageContext, sendPage } from './page-context.js'
import { acceptForms, attempt, field, notice, secretNotice } from './page-forms.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const CODE = /^[A-Za-z0-9.]{1,64}$/
/** A signing certificate expiring within this window is amber: time to register its successor. */
const EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000
/** Forms carrying a PEM certificate. */
const PEM_FORM_LIMIT = 1024 * 1024

/** The notices a redirect after a change may ask for (`?done=`): only these keys, never free text. */
const DONE = {
  created: 'agencies.created',
  updated: 'user.changed',
  certAdded: 'agency.signing.added',
  certRevoked: 'agency.signing.revokedNotice',
  revoked: 'agency.cred.revokedNotice'
} as const satisfies Record<string, MessageKey>

type Credential = AgencyOverview['credentials'][number]

/** What the agency forms send. */
interface AgencyForm { code?: string, name?: string, mode?: string, url?: string, pins?: string, weak: boolean, pem?: string, label?: string }

function agencyForm (body: unknown): AgencyForm {
  const b = (body ?? {}) as Record<string, unknown>
  const pem = typeof b.pem === 'string' && b.pem.trim() !== '' ? b.pem : undefined
  const form: AgencyForm = { weak: b.allowWeakAlgorithms === 'on' }
  const set = (key: 'code' | 'name' | 'mode' | 'url' | 'pins' | 'label', max: number): void => {
    const value = field(b[key], max)
    if (value != null) form[key] = value
  }
  set('code', 64)
  set('name', 200)
  set('mode', 8)
  set('url', 2000)
  set('pins', 4000)
  set('label', 200)
  if (pem != null) form.pem = pem
  return form
}

/**
 * The delivery a form describes. Push: the URL and the TLS server certificate fingerprints that
 * pin it (one per line or comma-separated): the registry refuses an unpinned push endpoint
 * (docs/agency-registry.md). A subject pin set through the API is kept while the URL is unchanged.
 */
function deliveryOf (form: AgencyForm, before?: AgencyEntry['delivery']): AgencyEntry['delivery'] {
  if (form.mode === 'pull') return { mode: 'pull' }
  if (form.mode !== 'push' || form.url == null) throw new HubProblem('BAD_REQUEST', 'a push agency needs its endpoint URL')
  const pins = (form.pins ?? '').split(/[\s,]+/).filter((p) => p !== '')
  const keptSubject = before?.mode === 'push' && before.url === form.url ? before.serverSubject : undefined
  return { mode: 'push', url: form.url, ...(pins.length > 0 ? { serverCertificates: pins } : {}), ...(keptSubject != null ? { serverSubject: keptSubject } : {}) }
}

function credentialState (page: PageContext, c: Credential): SafeHtml {
  return c.revokedAt != null
    ? html`<span class="state tone-muted">${page.t('agency.cred.revoked', { date: formatDate(c.revokedAt) })}</span>`
    : html`<span class="state tone-ok">${page.t('agency.cred.active')}</span>`
}

function expiryBadge (page: PageContext, notAfter: string | null, now: Date): SafeHtml | string {
  if (notAfter == null) return ''
  const left = new Date(notAfter).getTime() - now.getTime()
  const [tone, key] = left <= 0 ? ['bad', 'trust.expired'] as const : left < EXPIRY_WARNING_MS ? ['wait', 'trust.expiring'] as const : ['ok', 'trust.valid'] as const
  return html`<span class="state tone-${tone}">${page.t(key)}</span>`
}

/** The fields shared by the create and edit forms, filled with the agency or what was typed. */
function agencyFields (page: PageContext, values: AgencyForm): SafeHtml {
  const { t } = page
  const option = (mode: 'push' | 'pull'): SafeHtml => mode === (values.mode ?? 'pull')
    ? html`<option value="${mode}" selected>${t(`agencies.delivery.${mode}`)}</option>`
    : html`<option value="${mode}">${t(`agencies.delivery.${mode}`)}</option>`
  return html`
  <label>${t('agencies.col.name')}<input name="name" required maxlength="200" value="${values.name ?? ''}"></label>
  <label>${t('agencies.col.delivery')}<select name="mode">${option('pull')}${option('push')}</select></label>
  <label>${t('agency.pushUrl')}<input name="url" type="url" maxlength="2000" value="${values.url ?? ''}"></label>
  <label>${t('agency.pins')}<textarea name="pins" rows="2" class="mono">${values.pins ?? ''}</textarea></label>
  <label class="check"><span><input type="checkbox" name="allowWeakAlgorithms"${values.weak ? new SafeHtml(' checked') : ''}> ${t('agencies.weak')}</span></label>`
}

/**
 * The admin's agency pages (docs/console.md): the agencies with their delivery and live
 * credentials and a form to add one; one agency's page with its signing certificates (register,
 * revoke), its settings (name, delivery, pins, weak algorithms), its API keys (issued and shown
 * once, revoked) and TLS client certificates. Reads and changes are the admin API's
 * (src/registry/registry-db.ts, src/store/agency-overview.ts, src/admin/agency-admin.ts): same
 * checks, audited in the change's transaction, this process's verification threads reloaded.
 */
export default async function adminAgencyPages (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  acceptForms(app, PEM_FORM_LIMIT)
  app.addHook('onRequest', requireRole('admin'))

  const listPage = async (request: FastifyRequest, reply: FastifyReply, top?: { status: number, notice: SafeHtml, typed: AgencyForm }): Promise<FastifyReply> => {
    const page = pageContext(request, reply)
    const { t } = page
    const agencies = await agencyOverview(ctx.db)
    const typed = top?.typed ?? { weak: false }
    const body = html`${top?.notice}<table>
<thead><tr><th scope="col">${t('agencies.col.code')}</th><th scope="col">${t('agencies.col.name')}</th><th scope="col">${t('agencies.col.delivery')}</th>
<th scope="col">${t('agencies.col.credentials')}</th></tr></thead>
<tbody>${agencies.map((a) => html`<tr data-agency="${a.code}">
  <th scope="row"><a href="/console/admin/agencies/${a.code}">${a.code}</a></th><td>${a.name}</td>
  <td>${t(`agencies.delivery.${a.deliveryMode}`)}${a.pushUrl != null ? html`<div class="mono">${a.pushUrl}</div>` : ''}${a.allowWeakAlgorithms ? html`<div><span class="state tone-wait">${t('agencies.weak')}</span></div>` : ''}</td>
  <td>${a.credentials.filter((c) => c.revokedAt == null).length}</td>
</tr>`)}</tbody></table>
<h2>${t('agencies.new')}</h2>
<form class="filters" method="post" action="/console/admin/agencies">
  ${csrfField(page)}
  <label>${t('agencies.col.code')}<input name="code" required maxlength="64" value="${typed.code ?? ''}"></label>
  ${agencyFields(page, typed)}
  <label>${t('agency.signing.pem')}<textarea name="pem" rows="2" class="mono"></textarea></label>
  <button class="primary" type="submit">${t('agencies.create')}</button>
</form>`
    return sendPage(reply, layout(page, t('agencies.title'), 'agencies', body), top?.status)
  }

  app.get('/admin/agencies', { schema: { hide: true } }, async (request, reply) => await listPage(request, reply))

  app.post('/admin/agencies', { schema: { hide: true }, bodyLimit: PEM_FORM_LIMIT }, async (request, reply) => {
    const form = agencyForm(request.body)
    const result = await attempt(pageContext(request, reply), async () => {
      if (form.code == null || form.name == null) throw new HubProblem('BAD_REQUEST', 'an agency needs its code and name')
      return await createAgency(ctx.db, auditActorOf(request), {
        code: form.code,
        name: form.name,
        delivery: deliveryOf(form),
        allowWeakAlgorithms: form.weak,
        ...(form.pem != null ? { signingCertificates: [{ pem: form.pem }] } : {})
      })
    })
    if (!result.ok) return await listPage(request, reply, { ...result, typed: form })
    await propagate(ctx, request.log)
    return await reply.code(303).header('location', `/console/admin/agencies/${result.value.entry.code}?done=created`).send()
  })

  const agencyPage = async (request: FastifyRequest, reply: FastifyReply, code: string, top?: { status?: number, notice: SafeHtml }): Promise<FastifyReply> => {
    const page = pageContext(request, reply)
    const { t } = page
    const agency = CODE.test(code) ? (await agencyOverview(ctx.db)).find((a) => a.code === code) : undefined
    const stored = agency != null ? (await storedAgencies(ctx.db, code))[0] : undefined
    if (agency == null || stored == null) throw new HubProblem('NOT_FOUND', 'no such agency')
    const q = request.query as Record<string, unknown>
    const done = typeof q.done === 'string' && Object.hasOwn(DONE, q.done) ? DONE[q.done as keyof typeof DONE] : undefined
    const now = new Date()
    const delivery = stored.entry.delivery
    const body = html`
${done != null ? notice('ok', t(done)) : ''}
${top?.notice}
<dl class="facts">
  <dt>${t('agencies.col.code')}</dt><dd>${agency.code}</dd>
  <dt>${t('agencies.col.name')}</dt><dd>${agency.name}</dd>
  <dt>${t('agencies.col.delivery')}</dt><dd>${t(`agencies.delivery.${agency.deliveryMode}`)}</dd>
  <dt>${t('agency.pushUrl')}</dt><dd class="mono">${agency.pushUrl ?? ''}</dd>
  <dt>${t('agencies.weak')}</dt><dd>${agency.allowWeakAlgorithms ? html`<span class="state tone-wait">✓</span>` : t('form.none')}</dd>
  <dt>${t('agency.managedBy')}</dt><dd>${t(`agency.managedBy.${stored.managedBy}`)}</dd>
</dl>
<h2>${t('agency.signing')}</h2>
${stored.signingCertificates.length === 0
  ? html`<p>${t('form.none')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('trust.col.fingerprint')}</th><th scope="col">${t('trust.col.subject')}</th><th scope="col">${t('agency.cred.label')}</th>
<th scope="col">${t('trust.col.notAfter')}</th><th scope="col">${t('agency.cred.state')}</th></tr></thead>
<tbody>${stored.signingCertificates.map((c) => html`<tr data-fingerprint="${c.fingerprint}">
  <td class="mono">${c.fingerprint}</td><td>${c.subject ?? ''}</td><td>${c.label}</td><td>${formatDate(c.notAfter)}</td>
  <td>${c.revokedAt != null
    ? html`<span class="state tone-muted">${t('agency.cred.revoked', { date: formatDate(c.revokedAt) })}</span>`
    : html`${expiryBadge(page, c.notAfter, now)}<form class="inline" method="post" action="/console/admin/agencies/${agency.code}/signing-certificates/${c.fingerprint}/revoke">${csrfField(page)}<button type="submit">${t('agency.cred.revoke')}</button></form>`}</td>
</tr>`)}</tbody></table>`}
<form class="stacked" method="post" action="/console/admin/agencies/${agency.code}/signing-certificates">
  ${csrfField(page)}
  <label for="signing-pem">${t('agency.signing.pem')}</label>
  <textarea id="signing-pem" name="pem" rows="4" required spellcheck="false" class="mono"></textarea>
  <label>${t('agency.cred.label')} <input name="label" maxlength="200"></label>
  <button class="primary" type="submit">${t('agency.signing.add')}</button>
</form>
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
<h3>${t('agency.key.new')}</h3>
<form class="filters" method="post" action="/console/admin/agencies/${agency.code}/api-keys">
  ${csrfField(page)}
  <label>${t('agency.key.label')}<input name="label" maxlength="200"></label>
  <button class="primary" type="submit">${t('agency.key.issue')}</button>
</form>
<h2>${t('agency.edit')}</h2>
<form class="filters" method="post" action="/console/admin/agencies/${agency.code}">
  ${csrfField(page)}
  ${agencyFields(page, { name: stored.entry.name, mode: delivery.mode, ...(delivery.mode === 'push' ? { url: delivery.url, pins: (delivery.serverCertificates ?? []).join('\n') } : {}), weak: stored.entry.allowWeakAlgorithms })}
  <button class="primary" type="submit">${t('form.save')}</button>
</form>`
    return sendPage(reply, layout(page, t('agency.title', { code: agency.code }), 'agencies', body), top?.status)
  }

  app.get('/admin/agencies/:code', { schema: { hide: true } }, async (request, reply) => await agencyPage(request, reply, (request.params as { code: string }).code))

  /** A change to the agency of the path: back to its page with a notice (303), or the page with the refusal. */
  const change = (apply: (request: FastifyRequest, code: string) => Promise<unknown>, done: keyof typeof DONE) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const code = (request.params as { code: string }).code
      if (!CODE.test(code)) throw new HubProblem('NOT_FOUND', 'no such agency')
      const result = await attempt(pageContext(request, reply), async () => await apply(request, code))
      if (!result.ok) return await agencyPage(request, reply, code, result)
      // This process's verification threads see the change before the admin sees the page.
      await propagate(ctx, request.log)
      return await reply.code(303).header('location', `/console/admin/agencies/${code}?done=${done}`).send()
    }

  app.post('/admin/agencies/:code', { schema: { hide: true }, bodyLimit: 64 * 1024 }, change(async (request, code) => {
    const form = agencyForm(request.body)
    const [before] = await storedAgencies(ctx.db, code)
    if (before == null) throw new HubProblem('NOT_FOUND', `no agency ${code}`)
    return await updateAgency(ctx.db, auditActorOf(request), code, {
      ...(form.name != null ? { name: form.name } : {}),
      delivery: deliveryOf(form, before.entry.delivery),
      allowWeakAlgorithms: form.weak
    })
  }, 'updated'))

  app.post('/admin/agencies/:code/signing-certificates', { schema: { hide: true }, bodyLimit: PEM_FORM_LIMIT }, change(async (request, code) => {
    const form = agencyForm(request.body)
    return await addSigningCertificate(ctx.db, auditActorOf(request), code, form.pem ?? '', form.label ?? '')
  }, 'certAdded'))

  app.post('/admin/agencies/:code/signing-certificates/:fingerprint/revoke', { schema: { hide: true } }, change(async (request, code) =>
    await revokeAgencySigningCertificate(ctx.db, auditActorOf(request), code, (request.params as { fingerprint: string }).fingerprint), 'certRevoked'))

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
