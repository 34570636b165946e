import type { FastifyInstance } from 'fastify'

/**
 * Stops a listening gateway the way a rolling restart needs it: no new connections (and a 503
 * for a request that still arrives on an open one), requests in progress finish and are
 * answered, then every connection is closed. After `deadlineMs` the connections still busy are
 * dropped. Resolves 'drained', or 'forced' when the deadline had to drop some.
 *
 * fastify's close() alone does not end: Node's server.close() closes the connections that are
 * idle at that moment, but a keep-alive connection whose request finishes afterwards stays open
 * until the client or keepAliveTimeout (72 s) ends it, and close() waits for it
 * (fastify/fastify#7044). So idle connections are closed again while the drain lasts.
 */
export async function closeGateway (app: FastifyInstance, deadlineMs: number): Promise<'drained' | 'forced'> {
  const server = app.server
  let forced = false
  const sweep = setInterval(() => { server.closeIdleConnections() }, 50)
  const deadline = setTimeout(() => {
    forced = true
    server.closeAllConnections()
  }, deadlineMs)
  try {
    await app.close()
  } finally {
    clearInterval(sweep)
    clearTimeout(deadline)
  }
  return forced ? 'forced' : 'drained'
}
