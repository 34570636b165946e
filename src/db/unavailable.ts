import { DatabaseUnavailableError } from './database.js'

/**
 * The one place that decides whether an error means "a dependency is unreachable" (a transient
 * outage: the client should retry, the hub answers 503 UNAVAILABLE with Retry-After) rather than
 * a defect (500 INTERNAL). Classified by the error's nature, never by where it was thrown:
 *
 * - socket errors reaching PostgreSQL or Redis: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE,
 *   EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN;
 * - PostgreSQL SQLSTATE class 08 (connection exception) and 57P01 admin_shutdown,
 *   57P02 crash_shutdown, 57P03 cannot_connect_now (starting up / shutting down), 53300
 *   too_many_connections (the server's max_connections reached);
 * - pg's own messages for a lost or unobtainable connection: "Connection terminated
 *   (unexpectedly)", "Client has encountered a connection error and is not queryable",
 *   "timeout exceeded when trying to connect" (pool checkout timeout);
 * - ioredis: "Connection is closed.", MaxRetriesPerRequestError, "Stream isn't writeable" (offline
 *   queue disabled) and the socket errors above;
 * - DatabaseUnavailableError, anywhere in the `cause` chain.
 */

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'])
const SHUTDOWN_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300'])
const MESSAGES = [
  /connection terminated/i,
  /client has encountered a connection error/i,
  /timeout exceeded when trying to connect/i,
  /connection is closed/i,
  /stream isn't writeable/i,
  /reached the max retries per request limit/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /terminating connection due to administrator command/i
]

/** Seconds a client is told to wait before retrying while a dependency is unreachable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2

export function isUnavailableError (error: unknown): boolean {
  const seen = new Set<unknown>()
  let current: unknown = error
  while (current != null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current)
    if (current instanceof DatabaseUnavailableError) return true
    const e = current as { code?: unknown, name?: unknown, message?: unknown, errors?: unknown, cause?: unknown }
    if (typeof e.code === 'string') {
      if (SOCKET_CODES.has(e.code) || SHUTDOWN_SQLSTATES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code)) return true
    }
    if (e.name === 'MaxRetriesPerRequestError') return true
    if (typeof e.message === 'string' && MESSAGES.some((pattern) => pattern.test(e.message as string))) return true
    // AggregateError (node's happy-eyeballs connect: ECONNREFUSED on ::1 and 127.0.0.1)
    if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((inner) => isUnavailableError(inner))) return true
    current = e.cause
  }
  return false
}
