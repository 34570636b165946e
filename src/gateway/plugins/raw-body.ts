import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

/**
 * edXML is taken as raw bytes (never parsed by Fastify): the verifier must see exactly what the
 * sender signed. The size cap is Fastify's bodyLimit, enforced from Content-Length before the body
 * is read, and while streaming for chunked uploads.
 */
export default fp(async function rawBody (app: FastifyInstance, options: { maxBytes: number }) {
  const parser = (_req: unknown, body: Buffer, done: (err: Error | null, body?: Buffer) => void): void => { done(null, body) }
  app.addContentTypeParser(['application/xml', 'text/xml', 'application/octet-stream', 'application/edxml+xml'],
    { parseAs: 'buffer', bodyLimit: options.maxBytes }, parser)
}, { name: 'raw-body' })
