/**
 * Per-recipient share of a worker's delivery slots. At most `perRecipient` deliveries to one
 * recipient run at once, so a slow or dead recipient never starves the others.
 *
 * A job that finds its recipient busy either waits here for a slot to be handed over (when the
 * recipient is healthy: a burst to a responsive recipient then flows without the job going back
 * to Redis and being fetched again, which costs more than the delivery itself), or is postponed
 * by the caller. Waiting is bounded three ways so that isolation holds: only while the
 * recipient's last attempt succeeded (a hanging or failing one gets no waiters), at most
 * `maxWaiters` jobs per recipient, and at most `maxWaitMs` each.
 */
export class RecipientSlots {
  private readonly active = new Map<string, number>()
  private readonly waiters = new Map<string, Array<(granted: boolean) => void>>()
  private readonly failing = new Set<string>()

  constructor (private readonly perRecipient: number, private readonly maxWaiters: number, private readonly maxWaitMs: number) {}

  /** Resolves true with a slot held (release it with `release`), or false: postpone the job. */
  async acquire (recipient: string): Promise<boolean> {
    const busy = this.active.get(recipient) ?? 0
    if (busy < this.perRecipient) {
      this.active.set(recipient, busy + 1)
      return true
    }
    const queue = this.waiters.get(recipient) ?? []
    if (this.failing.has(recipient) || queue.length >= this.maxWaiters) return false
    this.waiters.set(recipient, queue)
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const i = queue.indexOf(grant)
        if (i !== -1) queue.splice(i, 1)
        resolve(false)
      }, this.maxWaitMs)
      const grant = (granted: boolean): void => { clearTimeout(timer); resolve(granted) }
      queue.push(grant)
    })
  }

  /** Gives the slot to the next waiter, if any; `ok` says whether the attempt reached the recipient. */
  release (recipient: string, ok: boolean): void {
    if (ok) this.failing.delete(recipient)
    else this.failing.add(recipient)
    const queue = this.waiters.get(recipient)
    if (!ok && queue != null) {
      // The recipient just failed: waiters would only pile onto it. Send them back to Redis.
      for (const grant of queue.splice(0)) grant(false)
    }
    const next = queue?.shift()
    if (queue != null && queue.length === 0) this.waiters.delete(recipient)
    if (next != null) {
      next(true)
      return
    }
    const left = (this.active.get(recipient) ?? 1) - 1
    if (left <= 0) this.active.delete(recipient)
    else this.active.set(recipient, left)
  }

  inFlight (recipient: string): number {
    return this.active.get(recipient) ?? 0
  }
}
