import type { ReasonCode } from './reason-codes.js'

/** Thrown by a pipeline step to end verification with a stable reason code. */
export class VerificationFailure extends Error {
  constructor (readonly code: ReasonCode, detail: string) {
    super(detail)
    this.name = 'VerificationFailure'
  }
}

export function fail (code: ReasonCode, detail: string): never {
  throw new VerificationFailure(code, detail)
}
