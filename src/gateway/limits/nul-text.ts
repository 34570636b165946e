import { HubProblem } from '../../errors/problem.js'

/** How deep a parsed JSON body is walked; schemas refuse anything deeper long before. */
const MAX_DEPTH = 32

/**
 * The name of the first field whose text holds U+0000, or undefined. PostgreSQL `text` and `jsonb`
 * cannot store NUL: a filter, a user name or an agency name with one made the query itself fail
 * and the hub answered 500 INTERNAL (attack-admin finding X1), for any authenticated caller and
 * on the unauthenticated sign-in. Buffers (raw edXML bodies) are not walked: their bytes are
 * verified, never stored as text.
 */
export function nulField (value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined
  if (value == null || typeof value !== 'object' || Buffer.isBuffer(value) || depth > MAX_DEPTH) return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulField(value[i], `${path}/${i}`, depth + 1)
      if (found != null) return found
    }
    return undefined
  }
  for (const [key, item] of Object.entries(value)) {
    const found = key.includes('\u0000') ? `${path}/${key}` : nulField(item, `${path}/${key}`, depth + 1)
    if (found != null) return found
  }
  return undefined
}

/** Throws 400 BAD_REQUEST when the query, path or parsed body carries a NUL character. */
export function assertNoNulText (request: { query: unknown, params: unknown, body: unknown }): void {
  const found = nulField(request.params, 'params') ?? nulField(request.query, 'querystring') ?? nulField(request.body, 'body')
  if (found != null) throw new HubProblem('BAD_REQUEST', `${found} contains a NUL character (U+0000), which no text field may hold`)
}
