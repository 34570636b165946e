import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { HubContext } from '../hub-context.js'

interface Readiness { checks?: Record<string, { status?: string }> }

/**
 * The gateway's request counting and readiness gauges. Wrapped with fastify-plugin so that the
 * onResponse hook sees every route, whatever its scope. GET /metrics itself is a public route
 * (routes/metrics.ts). Nothing is counted when the context has no metrics (tests' gateways).
 */
export default fp(async function requestMetrics (app: FastifyInstance, options: { context: HubContext }) {
  const { metrics } = options.context
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
}, { name: 'request-metrics' })
