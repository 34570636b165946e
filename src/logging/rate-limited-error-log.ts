import pino from 'pino'

/** What the helper needs of a logger (a pino Logger fits). */
export interface WarnLogger {
  warn: (obj: object, msg: string) => void
}

let processLogger: WarnLogger | undefined
let fallback: WarnLogger | undefined

/**
 * The logger of errors reported without one of their own (a Redis producer connection, the
 * PostgreSQL pool): `start`, `serve` and `worker` set theirs at start, so these lines carry the
 * process's level, role and redaction. Until then, and in CLI commands, warnings go to stderr.
 */
export function setProcessErrorLogger (logger: WarnLogger | undefined): void {
  processLogger = logger
}

function currentLogger (): WarnLogger {
  if (processLogger != null) return processLogger
  fallback ??= pino({ level: 'warn' }, pino.destination(2))
  return fallback
}

export interface RateLimitOptions {
  /** Default: the process's logger (setProcessErrorLogger), looked up at each line. */
  logger?: WarnLogger
  /** At most one line per this many milliseconds after the first (default 30 s). */
  intervalMs?: number
  now?: () => number
}

/**
 * An error handler for errors that repeat while a dependency is down (an 'error' event per
 * reconnection attempt, a failed round per interval): the first one is logged at once, then at
 * most one line per interval, which says how many were not logged since the last line. They are
 * expected and recovered from, so swallowing them is right; not seeing them at all is not.
 */
export function rateLimitedErrorLog (what: string, options: RateLimitOptions = {}): (err: unknown) => void {
  const intervalMs = options.intervalMs ?? 30_000
  const now = options.now ?? Date.now
  let lastLogged: number | undefined
  let suppressed = 0
  return (err: unknown) => {
    const at = now()
    if (lastLogged != null && at - lastLogged < intervalMs) {
      suppressed++
      return
    }
    // ioredis reports a refused connection as an AggregateError with an empty message.
    const message = err instanceof Error ? (err.message !== '' ? err.message : (err as NodeJS.ErrnoException).code ?? err.name) : String(err)
    const more = suppressed > 0 ? ` (${suppressed} more since the last line)` : ''
    ;(options.logger ?? currentLogger()).warn({ err, suppressed }, `${what}: ${message}${more}`)
    lastLogged = at
    suppressed = 0
  }
}
