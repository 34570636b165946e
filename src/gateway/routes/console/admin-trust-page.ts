import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { addTrustCa, importCrl, trustOverview } from '../../../admin/trust-admin.js'
import { formatDate, type Tone } from '../../../console/format.js'
import { html, type SafeHtml } from '../../../console/html.js'
import { csrfField, layout, type PageContext } from '../../../console/layout.js'
import { HubProblem } from '../../../errors/problem.js'
import type { CrlFreshness } from '../../../pki/trust-store.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { requireRole } from '../../scopes/role-guard.js'
import { propagate } from '../api/admin-agencies.js'
import { pageContext, sendPage } from './page-context.js'
import { acceptForms, attempt, notice } from './page-forms.js'

/** A CA certificate as trustOverview() lists it. */
interface CaView { subject: string, fingerprintSha256: string, notAfter: string, source: string }
interface TrustView { anchors: CaView[], intermediates: CaView[], crls: CrlFreshness[], refresh: { lastRoundAt: string | null, failures: unknown } }

/** A CA expiring within this window is shown amber: time to have its successor in the trust store. */
const EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000
/** A CRL paste: PEM CRLs of national CAs run to a few MiB at most. */
const CRL_FORM_LIMIT = 8 * 1024 * 1024

/** A file's name without the server's directories (the full path is the cell's title). */
function basename (source: string): string {
  return source.split('/').pop() ?? source
}

function expiry (page: PageContext, notAfter: string, now: Date): SafeHtml {
  const left = new Date(notAfter).getTime() - now.getTime()
  const [tone, key]: [Tone, 'trust.expired' | 'trust.expiring' | 'trust.valid'] = left <= 0 ? ['bad', 'trust.expired'] : left < EXPIRY_WARNING_MS ? ['wait', 'trust.expiring'] : ['ok', 'trust.valid']
  return html`<span class="state tone-${tone}">${page.t(key)}</span>`
}

function caTable (page: PageContext, cas: CaView[], now: Date): SafeHtml {
  const { t } = page
  if (cas.length === 0) return html`<p>${t('form.none')}</p>`
  return html`<table>
<thead><tr><th scope="col">${t('trust.col.subject')}</th><th scope="col">${t('trust.col.fingerprint')}</th><th scope="col">${t('trust.col.notAfter')}</th>
<th scope="col">${t('trust.col.state')}</th><th scope="col">${t('trust.col.source')}</th></tr></thead>
<tbody>${cas.map((c) => html`<tr>
  <td>${c.subject}</td><td class="mono">${c.fingerprintSha256}</td><td>${formatDate(c.notAfter)}</td><td>${expiry(page, c.notAfter, now)}</td><td class="mono" title="${c.source}">${basename(c.source)}</td>
</tr>`)}</tbody></table>`
}

/**
 * The admin's trust-store page (docs/console.md): anchors and intermediates with their expiry,
 * every CRL's freshness, the refresh job's last round; forms (PEM pasted, no script) to add a
 * trust anchor or intermediate CA and to import a CRL. Reads and changes are the admin API's
 * (src/admin/trust-admin.ts): a CA must be a current CA issued by a trusted one (or self-signed),
 * a CRL is checked like a fetched one and older ones are refused; each change audited.
 */
export default async function adminTrustPage (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  acceptForms(app, CRL_FORM_LIMIT)
  app.addHook('onRequest', requireRole('admin'))

  const trustPage = async (request: FastifyRequest, reply: FastifyReply, top?: { status?: number, notice: SafeHtml }): Promise<FastifyReply> => {
    const page = pageContext(request, reply)
    const { t } = page
    if (ctx.trustStore == null) throw new HubProblem('UNAVAILABLE', t('trust.unavailable'), { retryAfterSeconds: 60 })
    const now = new Date()
    const view = await trustOverview(ctx.db, ctx.trustStore(), now) as unknown as TrustView
    const failures = typeof view.refresh.failures === 'number' ? String(view.refresh.failures) : Array.isArray(view.refresh.failures) ? String(view.refresh.failures.length) : '0'
    const body = html`
${top?.notice}
<h2>${t('trust.anchors')}</h2>
${caTable(page, view.anchors, now)}
<h2>${t('trust.intermediates')}</h2>
${caTable(page, view.intermediates, now)}
<h2>${t('trust.crls')}</h2>
<p>${t('trust.refresh', { date: view.refresh.lastRoundAt != null ? formatDate(view.refresh.lastRoundAt) : t('trust.refresh.never'), failures })}</p>
${view.crls.length === 0
  ? html`<p>${t('form.none')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('trust.col.issuer')}</th><th scope="col">${t('trust.col.number')}</th><th scope="col">${t('trust.col.thisUpdate')}</th>
<th scope="col">${t('trust.col.nextUpdate')}</th><th scope="col">${t('trust.col.state')}</th><th scope="col">${t('trust.col.source')}</th></tr></thead>
<tbody>${view.crls.map((c) => html`<tr data-issuer="${c.issuer}">
  <td>${c.issuer}</td><td>${c.crlNumber ?? ''}</td><td>${formatDate(c.thisUpdate)}</td><td>${formatDate(c.nextUpdate)}</td>
  <td>${c.fresh ? html`<span class="state tone-ok">${t('trust.fresh')}</span>` : html`<span class="state tone-bad">${t('trust.stale')}</span>`}</td>
  <td class="mono" title="${c.file}">${basename(c.file)}</td>
</tr>`)}</tbody></table>`}
<h2>${t('trust.addCa')}</h2>
<form class="stacked" method="post" action="/console/admin/trust/cas">
  ${csrfField(page)}
  <label for="ca-pem">${t('trust.addCa.pem')}</label>
  <textarea id="ca-pem" name="pem" rows="6" required spellcheck="false" class="mono"></textarea>
  <button class="primary" type="submit">${t('trust.addCa.submit')}</button>
</form>
<h2>${t('trust.import')}</h2>
<form class="stacked" method="post" action="/console/admin/trust/crls">
  ${csrfField(page)}
  <label for="crl-pem">${t('trust.import.pem')}</label>
  <textarea id="crl-pem" name="pem" rows="8" required spellcheck="false" class="mono"></textarea>
  <button class="primary" type="submit">${t('trust.import.submit')}</button>
</form>`
    return sendPage(reply, layout(page, t('trust.title'), 'trust', body), top?.status)
  }

  app.get('/admin/trust', { schema: { hide: true } }, async (request, reply) => await trustPage(request, reply))

  app.post('/admin/trust/cas', { schema: { hide: true }, bodyLimit: CRL_FORM_LIMIT }, async (request, reply) => {
    const page = pageContext(request, reply)
    const pem = ((request.body ?? {}) as Record<string, unknown>).pem
    if (ctx.trustStore == null) throw new HubProblem('UNAVAILABLE', page.t('trust.unavailable'), { retryAfterSeconds: 60 })
    const store = ctx.trustStore()
    const result = await attempt(page, async () => await addTrustCa(ctx.db, store, auditActorOf(request), typeof pem === 'string' ? pem : ''))
    if (!result.ok) return await trustPage(request, reply, result)
    // This process trusts the CA before the admin sees the page; others from their next poll.
    await propagate(ctx, request.log)
    const { kind, subject } = result.value
    return await trustPage(request, reply, { status: 201, notice: notice('ok', page.t('trust.addCa.added', { kind: page.t(`trust.kind.${kind}`), subject })) })
  })

  app.post('/admin/trust/crls', { schema: { hide: true }, bodyLimit: CRL_FORM_LIMIT }, async (request, reply) => {
    const page = pageContext(request, reply)
    const pem = ((request.body ?? {}) as Record<string, unknown>).pem
    if (ctx.trustStore == null) throw new HubProblem('UNAVAILABLE', page.t('trust.unavailable'), { retryAfterSeconds: 60 })
    const store = ctx.trustStore()
    const result = await attempt(page, async () => {
      if (typeof pem !== 'string' || pem.trim() === '') throw new HubProblem('BAD_REQUEST', 'paste a CRL in PEM form')
      return await importCrl(ctx.db, store, auditActorOf(request), Buffer.from(pem, 'latin1'))
    })
    if (!result.ok) return await trustPage(request, reply, result)
    const { outcome, issuer, crlNumber } = result.value
    return await trustPage(request, reply, { notice: notice('ok', page.t(outcome === 'stored' ? 'trust.import.stored' : 'trust.import.unchanged', { issuer, number: crlNumber ?? '' })) })
  })
}
