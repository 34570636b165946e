import type { FastifyInstance } from 'fastify'
import type { HubContext } from '../hub-context.js'
import { bearerMatches } from '../../metrics/bearer-token.js'
import { pingDatabase } from '../../store/hub-state.js'

interface CheckResult { status: 'ok' | 'fail', detail?: string, durationMs: number, checkedAt: string }

/**
 * Liveness (the process answers) and readiness (each dependency, with its own status and time,
 * X-Road style). In the public scope (scopes/gateway-scopes.ts): never authenticated, never
 * rate limited, never touches the verification pool. The readiness details (certificate files and dates, CRL issuers, why Redis fails) are for the
 * operator: shown only to a request bearing the operator token (LIENTHONG_METRICS_TOKEN);
 * everyone else sees each check's status and nothing more.
 */
export default async function healthRoutes (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  app.get('/health/live', { config: { rateLimit: false }, schema: { hide: true } }, async () => ({ status: 'ok' }))
  app.get('/health/ready', { config: { rateLimit: false }, schema: { hide: true } }, async (request, reply) => {
    const operator = ctx.metricsToken != null && ctx.metricsToken !== '' && bearerMatches(request.headers.authorization, ctx.metricsToken)
    const checks: Record<string, () => Promise<{ ok: boolean, detail?: string }>> = {
      database: async () => { await pingDatabase(ctx.db); return { ok: true } },
      redis: async () => {
        if (ctx.queue == null) return { ok: false, detail: 'no queue configured' }
        return (await ctx.queue.ping())
          ? { ok: true }
          : { ok: false, detail: 'Redis does not answer: documents are still accepted and stored; deliveries are enqueued when it is back' }
      },
      hubCertificate: async () => {
        const left = ctx.hub.notAfter.getTime() - Date.now()
        return { ok: left > 0, detail: `expires ${ctx.hub.notAfter.toISOString()}` }
      },
      ...ctx.readiness
    }
    const results: Record<string, CheckResult> = {}
    await Promise.all(Object.entries(checks).map(async ([name, check]) => {
      const checkedAt = new Date().toISOString()
      const started = performance.now()
      try {
        const r = await Promise.race([check(), new Promise<{ ok: boolean, detail: string }>((resolve) => setTimeout(() => resolve({ ok: false, detail: 'timed out' }), 2000).unref())])
        results[name] = { status: r.ok ? 'ok' : 'fail', ...(r.detail != null ? { detail: r.detail } : {}), durationMs: Math.round(performance.now() - started), checkedAt }
      } catch (err) {
        results[name] = { status: 'fail', detail: (err as Error).message, durationMs: Math.round(performance.now() - started), checkedAt }
      }
    }))
    const ready = Object.values(results).every((r) => r.status === 'ok')
    if (!operator) for (const result of Object.values(results)) delete result.detail
    return await reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks: results })
  })
}
