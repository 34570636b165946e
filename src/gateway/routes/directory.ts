import type { FastifyInstance } from 'fastify'
import type { HubContext } from '../hub-context.js'
import { DIRECTORY_WELL_KNOWN_PATH } from '../../routing/directory/directory-path.js'

/** Where peer hubs fetch this hub's signed directory (docs/directory.md). */
export const DIRECTORY_PATH = DIRECTORY_WELL_KNOWN_PATH

/**
 * GET the signed directory: public (like Peppol's SMP, what it lists is what peers need to route
 * and to check signers; it names no endpoint and no secret), cacheable with a strong ETag. Its
 * integrity comes from the hub's signature, not from this channel; peers still fetch it over
 * pinned TLS so that an on-path attacker cannot even withhold a newer version unnoticed.
 */
export default async function directoryRoute (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const publisher = options.context.directory
  if (publisher == null) return
  app.get(DIRECTORY_PATH, { schema: { hide: true } }, async (request, reply) => {
    const published = await publisher.current()
    const maxAge = Math.max(0, Math.min(300, Math.floor((published.directory.validUntil.getTime() - Date.now()) / 1000)))
    reply.header('etag', published.etag).header('cache-control', `public, max-age=${maxAge}`).header('x-lienthong-directory-version', String(published.directory.version))
    if (ifNoneMatch(request.headers['if-none-match'], published.etag)) return await reply.code(304).send()
    return await reply.type('application/xml; charset=utf-8').send(published.bytes)
  })
}

/** RFC 9110 13.1.2: a list of entity tags or "*"; weak comparison (W/ prefixes ignored). */
function ifNoneMatch (header: string | undefined, etag: string): boolean {
  if (header == null) return false
  return header.split(',').map((t) => t.trim().replace(/^W\//, '')).some((t) => t === '*' || t === etag)
}
