/**
 * Request-body bytes held at once (received, or being verified: the body stays in memory until
 * the answer is sent), overall and per credential. A reservation that does not fit is refused, so
 * a few slow uploads, or one agency's burst, cannot take the process's memory.
 */
export type Refusal = 'total' | 'credential'

export class InFlightBudget {
  private held = 0
  private readonly perCredential = new Map<string, number>()

  constructor (readonly total: number, readonly credentialMax: number) {}

  get heldBytes (): number {
    return this.held
  }

  /** Reserves `bytes` for `credential`; undefined when it fit, else which bound it would cross. */
  reserve (credential: string, bytes: number): Refusal | undefined {
    if (bytes <= 0) return undefined
    const mine = this.perCredential.get(credential) ?? 0
    if (mine + bytes > this.credentialMax) return 'credential'
    if (this.held + bytes > this.total) return 'total'
    this.perCredential.set(credential, mine + bytes)
    this.held += bytes
    return undefined
  }

  release (credential: string, bytes: number): void {
    if (bytes <= 0) return
    const mine = (this.perCredential.get(credential) ?? 0) - bytes
    if (mine > 0) this.perCredential.set(credential, mine)
    else this.perCredential.delete(credential)
    this.held = Math.max(0, this.held - bytes)
  }
}
