import { REASON_CODES, type ReasonCode } from '../domain/reason-codes.js'

/**
 * The one error catalogue of the HTTP API: every verification reason code plus the codes of the
 * gateway itself. Answers are RFC 9457 problem+json with a stable `code`.
 */
export const GATEWAY_CODES = {
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  CONFLICT: { status: 409, title: 'Conflicts with the current state' },
  CONTENT_EXPIRED: { status: 410, title: 'Past retention: the signed bytes are no longer kept' },
  DOCUMENT_UNKNOWN: { status: 404, title: 'Answered document unknown' },
  RECIPIENT_UNKNOWN: { status: 422, title: 'No known recipient' },
  RECIPIENT_UNROUTABLE: { status: 422, title: 'No route leads to any recipient' },
  // Agency codes match exactly (route-pattern.ts); one differing from an agency of this hub only in
  // letter case is a misaddressing, refused instead of leaving on a default or prefix route.
  RECIPIENT_CASE_MISMATCH: { status: 422, title: 'The recipient code differs from an agency of this hub only in letter case' },
  // Peer forwarding (issue 13). 4xx on purpose: the forwarding hub fails the hop at once instead
  // of retrying a loop for its whole retry window.
  HOP_LOOP: { status: 409, title: 'The document already went through this hub (routing loop)' },
  HOP_LIMIT: { status: 409, title: 'The document went through too many hubs' },
  HOPS_INVALID: { status: 400, title: 'The Lienthong-Hops header is not a hop list' },
  PEER_NOT_ON_PATH: { status: 403, title: 'This peer hub or upstream may not bring this document or status here' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  BUSY: { status: 503, title: 'Verification capacity exhausted, retry later' },
  IN_FLIGHT_LIMIT: { status: 503, title: 'Too many request bytes in progress, retry later' },
  UNAVAILABLE: { status: 503, title: 'A dependency of the hub (database, queue) is unreachable, retry later' },
  INTERNAL: { status: 500, title: 'Internal error' }
} as const

export type GatewayCode = keyof typeof GATEWAY_CODES
export type ProblemCode = GatewayCode | ReasonCode

export function problemStatus (code: ProblemCode): number {
  return code in GATEWAY_CODES ? GATEWAY_CODES[code as GatewayCode].status : REASON_CODES[code as ReasonCode].status
}

export function problemTitle (code: ProblemCode): string {
  return code in GATEWAY_CODES ? GATEWAY_CODES[code as GatewayCode].title : REASON_CODES[code as ReasonCode].title
}

/** A domain error carrying its stable code; the global handler turns it into problem+json. */
export class HubProblem extends Error {
  readonly status: number
  constructor (readonly code: ProblemCode, readonly detail: string, readonly extra: Record<string, unknown> = {}) {
    super(detail)
    this.name = 'HubProblem'
    this.status = problemStatus(code)
  }
}

export interface ProblemBody {
  type: string
  title: string
  status: number
  code: string
  detail: string
  instance?: string
  [extra: string]: unknown
}

export function problemBody (code: ProblemCode, detail: string, extra: Record<string, unknown> = {}, instance?: string): ProblemBody {
  return {
    type: `https://lienthong.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title: problemTitle(code),
    status: problemStatus(code),
    code,
    detail,
    ...(instance != null ? { instance } : {}),
    ...extra
  }
}
