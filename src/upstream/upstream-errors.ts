/**
 * A failed call to an upstream axis. `retryable`: trying again later can help (the network, the
 * upstream being busy or down, our credentials being fixed by an operator); otherwise the
 * upstream judged the request itself (the document, its recipients) and repeating it cannot help.
 */
export class UpstreamCallError extends Error {
  readonly retryable: boolean
  readonly httpStatus: number | undefined
  /** The VDXP ErrorCode of a FAIL answer. */
  readonly errorCode: string | undefined
  /** Start of the upstream's answer, kept as evidence. */
  readonly answer: string | undefined

  constructor (readonly operation: string, detail: string, options: { retryable: boolean, httpStatus?: number, errorCode?: string, answer?: string }) {
    super(`${operation}: ${detail}`)
    this.name = 'UpstreamCallError'
    this.retryable = options.retryable
    this.httpStatus = options.httpStatus
    this.errorCode = options.errorCode
    this.answer = options.answer
  }
}

/**
 * ErrorCodes that say nothing about the request itself. The national axis's catalogue is not
 * known (protocol §6); these are lienthong's own (src/vdxp/error-catalogue.ts: 101 authentication,
 * 110 request timeout, 112 rate limited, 113-115 busy or unavailable, 116 internal). Authentication
 * is retried, not given up: a wrong or rotated secret is an operator's fix away, and the delivery
 * window bounds the wait exactly as for a push recipient that is down.
 */
const RETRYABLE_CODES = new Set(['101', '110', '112', '113', '114', '115', '116'])

/**
 * Retryable: a code above, or an HTTP status that says so (5xx, 408, 429), whatever the code;
 * every other FAIL answer is the upstream refusing this request (the document's signature,
 * unknown recipients, a bad parameter): permanent.
 */
export function classifyVdxpFailure (errorCode: string, httpStatus: number): { retryable: boolean } {
  if (RETRYABLE_CODES.has(errorCode)) return { retryable: true }
  if (httpStatus >= 500 || httpStatus === 408 || httpStatus === 429) return { retryable: true }
  return { retryable: false }
}
