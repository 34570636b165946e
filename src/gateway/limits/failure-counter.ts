/**
 * Failed authentications per client address, in fixed one-minute windows, in this process's
 * memory (like the per-credential rate limit; a gateway replica counts its own). Bounded: at most
 * `maxAddresses` addresses are tracked per window; past that, an untracked address is treated as
 * over its budget (a flood from that many addresses is refused rather than allowed to grow the map).
 */
export class FailureCounter {
  private counts = new Map<string, number>()
  private windowStart: number

  constructor (private readonly maxPerWindow: number, private readonly windowMs = 60_000, private readonly maxAddresses = 100_000, private readonly now: () => number = Date.now) {
    this.windowStart = now()
  }

  private roll (): void {
    const now = this.now()
    if (now - this.windowStart >= this.windowMs) {
      this.counts.clear()
      this.windowStart = now - ((now - this.windowStart) % this.windowMs)
    }
  }

  /** Seconds until the current window ends (at least 1). */
  retryAfterSeconds (): number {
    return Math.max(1, Math.ceil((this.windowStart + this.windowMs - this.now()) / 1000))
  }

  /**
   * True when `address` has used its budget of failures in this window. An address not tracked
   * because the table is full counts as exhausted: its failures answer 429 (valid credentials are
   * checked before this and are never refused for it).
   */
  exhausted (address: string): boolean {
    this.roll()
    const count = this.counts.get(address)
    if (count == null) return this.counts.size >= this.maxAddresses
    return count >= this.maxPerWindow
  }

  /**
   * Takes back one failure counted ahead (a sign-in reserves its failure before the slow password
   * check, so concurrent guesses cannot all pass the budget check first; a success gives it back).
   */
  forgive (address: string): void {
    this.roll()
    const count = this.counts.get(address)
    if (count == null) return
    if (count <= 1) this.counts.delete(address)
    else this.counts.set(address, count - 1)
  }

  /** Counts one failed authentication from `address`. */
  fail (address: string): void {
    this.roll()
    const count = this.counts.get(address)
    if (count == null && this.counts.size >= this.maxAddresses) return
    this.counts.set(address, (count ?? 0) + 1)
  }
}
