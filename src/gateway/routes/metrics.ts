import type { FastifyInstance } from 'fastify'
import { bearerMatches } from '../../metrics/bearer-token.js'
import { HubProblem } from '../../errors/problem.js'
import type { HubContext } from '../hub-context.js'

/**
 * GET /metrics (Prometheus text format). Public in the agency sense: it has its own operator
 * token. Not rate limited (Prometheus scrapes every few seconds from one address), not in the
 * OpenAPI document. The hub processes serve it on the API port only with LIENTHONG_METRICS_TOKEN
 * (then required) or LIENTHONG_METRICS_OPEN=1 (context.exposeMetrics); otherwise it is not
 * registered (scopes/gateway-scopes.ts) and is an unknown route.
 */
export default async function metricsRoute (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const { metrics, metricsToken } = options.context
  if (metrics == null) return
  app.get('/metrics', { schema: { hide: true }, config: { rateLimit: false } }, async (request, reply) => {
    if (metricsToken != null && metricsToken !== '' && !bearerMatches(request.headers.authorization, metricsToken)) {
      throw new HubProblem('UNAUTHENTICATED', 'send the metrics token (LIENTHONG_METRICS_TOKEN) as Authorization: Bearer <token>')
    }
    return await reply.type(metrics.contentType).send(await metrics.scrape())
  })
}
