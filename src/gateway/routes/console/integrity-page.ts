import type { FastifyInstance } from 'fastify'
import { formatDate } from '../../../console/format.js'
import { html, type SafeHtml } from '../../../console/html.js'
import { layout, type PageContext } from '../../../console/layout.js'
import { readCheckpoint } from '../../../evidence/signature-log-checkpoints.js'
import { checkSignatureLogIntegrity, type IntegrityReport } from '../../../evidence/signature-log-integrity.js'
import type { HubContext } from '../../hub-context.js'
import { requireRole } from '../../scopes/role-guard.js'
import { pageContext, sendPage } from './page-context.js'

function verdict (page: PageContext, ok: boolean): SafeHtml {
  return ok
    ? html`<span class="state tone-ok" data-verdict="intact">${page.t('integrity.intact')}</span>`
    : html`<span class="state tone-bad" data-verdict="broken">${page.t('integrity.broken')}</span>`
}

function report (page: PageContext, result: IntegrityReport, elapsedMs: number): SafeHtml {
  const { t } = page
  const { range } = result
  const checkpoint = result.checkpoint
  return html`
<h2>${t('integrity.result')}</h2>
<dl class="facts" id="integrity-result">
  <dt>${t('integrity.result')}</dt><dd>${verdict(page, result.ok)}</dd>
  <dt>${t('integrity.checkpoint.entries')}</dt><dd>${t('integrity.checked', { count: String(range.checked), first: String(range.firstId ?? '–'), last: String(range.lastId ?? '–'), ms: String(elapsedMs) })}</dd>
  ${range.broken != null
    ? html`<dt>${t('integrity.firstBroken', { id: String(range.broken.id) })}</dt><dd>${t(`integrity.reason.${range.broken.reason}`)}
      <div class="mono">${t('integrity.expected')}: ${range.broken.expected}</div><div class="mono">${t('integrity.found')}: ${range.broken.found}</div></dd>`
    : ''}
  ${checkpoint != null
    ? html`<dt>${t('integrity.checkpoint')} #${checkpoint.id}</dt><dd>${t('integrity.checkpoint.signature')}: ${checkpoint.signatureValid ? t('integrity.checkpoint.valid') : t('integrity.checkpoint.invalid')}
      · ${t('integrity.checkpoint.consistent')}: ${checkpoint.consistent == null ? '–' : checkpoint.consistent ? html`<span class="state tone-ok">${t('integrity.matches')}</span>` : html`<span class="state tone-bad">${t('integrity.differs')}</span>`}<div>${checkpoint.detail}</div></dd>`
    : ''}
</dl>`
}

/**
 * GET /console/integrity (auditors, admins): the newest signed checkpoint of the signature log
 * and, on "run" (`?run=1`, a read: no form token needed), the integrity check of
 * GET /api/signature-log/integrity (src/evidence/signature-log-integrity.ts): the whole chain
 * recomputed, compared with that checkpoint, the first broken link named.
 */
export default async function integrityPage (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  app.get('/integrity', { schema: { hide: true }, onRequest: requireRole('auditor', 'admin') }, async (request, reply) => {
    const page = pageContext(request, reply)
    const { t } = page
    const run = (request.query as Record<string, unknown>).run === '1'
    const stored = await readCheckpoint(ctx.db)
    const statement = stored?.signed.checkpoint
    let result: SafeHtml | string = html`<p>${t('integrity.notRun')}</p>`
    if (run) {
      const started = performance.now()
      const checked = await checkSignatureLogIntegrity(ctx.db, [ctx.hub.fingerprintSha256])
      result = report(page, checked, Math.round(performance.now() - started))
    }
    const body = html`
<p>${t('integrity.intro')}</p>
<form class="filters" method="get" action="/console/integrity">
  <input type="hidden" name="run" value="1">
  <button class="primary" type="submit">${t('integrity.run')}</button>
</form>
<h2>${t('integrity.checkpoint')}</h2>
${stored == null || statement == null
  ? html`<p>${t('integrity.checkpoint.none')}</p>`
  : html`<dl class="facts">
  <dt>${t('integrity.checkpoint.id')}</dt><dd>${stored.id}</dd>
  <dt>${t('integrity.checkpoint.issued')}</dt><dd>${formatDate(statement.issuedAt)}</dd>
  <dt>${t('integrity.checkpoint.head')}</dt><dd>${statement.headId ?? '–'} <span class="mono">${statement.headHash}</span></dd>
  <dt>${t('integrity.checkpoint.entries')}</dt><dd>${statement.entries}</dd>
  <dt></dt><dd><a href="/api/signature-log/checkpoints/${stored.id}" download>${t('integrity.checkpoint.download')}</a></dd>
</dl>`}
${result}`
    return sendPage(reply, layout(page, t('integrity.title'), 'integrity', body))
  })
}
