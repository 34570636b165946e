import type { ReasonCode } from '../domain/reason-codes.js'
import type { CertificateSummary } from '../domain/verdict.js'

/** Thrown by a pipeline step to end verification with a stable reason code. */
export class VerificationFailure extends Error {
  /** What was learned before the failure (e.g. the signer of a revoked certificate), for the log. */
  signer?: CertificateSummary

  constructor (readonly code: ReasonCode, detail: string) {
    super(detail)
    this.name = 'VerificationFailure'
  }
}

export function fail (code: ReasonCode, detail: string): never {
  throw new VerificationFailure(code, detail)
}
