import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { problemBody, type ProblemCode } from '../errors/problem.js'
import { bearerMatches } from './bearer-token.js'
import type { HubMetrics } from './hub-metrics.js'

export interface MetricsServerOptions {
  host: string
  port: number
  /** When set, scrapes must send `Authorization: Bearer <token>`. */
  token?: string | undefined
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string
  close: () => Promise<void>
}

/**
 * The `lienthong worker` process has no HTTP API (and never loads Fastify): this tiny node:http
 * listener serves its /metrics, and /health/live for orchestrators, nothing else.
 */
export async function startMetricsServer (metrics: HubMetrics, options: MetricsServerOptions): Promise<MetricsServer> {
  const problem = (res: ServerResponse, code: ProblemCode, detail: string, instance: string): void => {
    const body = problemBody(code, detail, {}, instance)
    res.writeHead(body.status, { 'content-type': 'application/problem+json; charset=utf-8' })
    res.end(JSON.stringify(body))
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      problem(res, 'BAD_REQUEST', `${req.method ?? ''} is not served here; scrape with GET`, path)
    } else if (path === '/health/live') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify({ status: 'ok' }))
    } else if (path !== '/metrics') {
      problem(res, 'NOT_FOUND', `no route ${req.method} ${path}`, path)
    } else if (options.token != null && !bearerMatches(req.headers.authorization, options.token)) {
      problem(res, 'UNAUTHENTICATED', 'send the metrics token (LIENTHONG_METRICS_TOKEN) as Authorization: Bearer <token>', path)
    } else {
      metrics.scrape().then((text) => {
        res.writeHead(200, { 'content-type': metrics.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      }, () => {
        problem(res, 'INTERNAL', 'the metrics could not be collected', path)
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve() })
  })
  const { address, port } = server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  return {
    url: `http://${host}:${port}/metrics`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    }
  }
}
