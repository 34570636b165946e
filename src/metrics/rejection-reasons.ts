import type { ProblemCode } from '../errors/problem.js'
import { REASON_CODES, type ReasonCode } from '../domain/reason-codes.js'

/**
 * The codes a refused submission can carry (POST /v1/documents): every verification reason, the
 * accept path's own policy codes, and BUSY (verification pool full, 503). Known in advance so the
 * rejected counter starts at zero for each of them; the set is closed, so the label stays small.
 */
export const REJECTION_REASONS: readonly ProblemCode[] = [
  ...Object.keys(REASON_CODES) as ReasonCode[],
  'DOCUMENT_UNKNOWN',
  'RECIPIENT_UNKNOWN',
  'RECIPIENT_UNROUTABLE',
  'RECIPIENT_CASE_MISMATCH',
  'FORBIDDEN',
  'UNSUPPORTED_MEDIA_TYPE',
  'BUSY'
]
