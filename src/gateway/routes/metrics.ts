import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { bearerMatches } from '../../metrics/bearer-token.js'
import { HubProblem } from '../problem.js'
import type { HubContext } from '../hub-context.js'

interface Readiness { checks?: Record<string, { status?: string }> }

/**
 * GET /metrics (Prometheus text format) and the gateway's request counting. Wrapped with
 * fastify-plugin so that the onResponse hook sees every route. Not rate limited (Prometheus
 * scrapes every few seconds from one address), not in the OpenAPI document. The hub processes
 * serve it on the API port only with LIENTHONG_METRICS_TOKEN (then required) or
 * LIENTHONG_METRICS_OPEN=1 (context.exposeMetrics); otherwise it is an unknown route. Nothing is
 * registered when the context has no metrics (tests' gateways).
 */
export default fp(async function metricsRoutes (app: FastifyInstance, options: { context: HubContext }) {
  const { metrics, metricsToken, exposeMetrics } = options.context
  if (metrics == null) return

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids in paths would make one series per document.
    metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })

  // Readiness as gauges, from the same checks /health/ready runs (one source of truth).
  metrics.setReadinessProbe(async () => {
    const answer = await app.inject({ method: 'GET', url: '/health/ready' })
    const checks = (answer.json<Readiness>()).checks ?? {}
    return Object.fromEntries(Object.entries(checks).map(([name, check]) => [name, check.status === 'ok']))
  })

  if (exposeMetrics === false) return
  app.get('/metrics', { schema: { hide: true }, config: { rateLimit: false, public: true } }, async (request, reply) => {
    if (metricsToken != null && metricsToken !== '' && !bearerMatches(request.headers.authorization, metricsToken)) {
      throw new HubProblem('UNAUTHENTICATED', 'send the metrics token (LIENTHONG_METRICS_TOKEN) as Authorization: Bearer <token>')
    }
    return await reply.type(metrics.contentType).send(await metrics.scrape())
  })
}, { name: 'metrics-routes' })
