/**
 * Jobs of a held recipient (its last attempt failed and its one probe is in flight) set aside by
 * this worker process: their jobs wait in Redis, delayed for a long rest, instead of being fetched
 * again every few hundred milliseconds while the probe runs. When the recipient answers again they
 * are promoted at once (`take`), so parking never delays a recipient that is back.
 */
export class ParkedJobs {
  private readonly byRecipient = new Map<string, Set<string>>()

  add (recipient: string, jobId: string): void {
    let ids = this.byRecipient.get(recipient)
    if (ids == null) this.byRecipient.set(recipient, ids = new Set())
    ids.add(jobId)
  }

  /** The job runs again (its rest ended, or it was promoted): no longer parked here. */
  delete (recipient: string, jobId: string): void {
    const ids = this.byRecipient.get(recipient)
    if (ids == null) return
    ids.delete(jobId)
    if (ids.size === 0) this.byRecipient.delete(recipient)
  }

  has (recipient: string): boolean {
    return this.byRecipient.has(recipient)
  }

  /** Every job parked for the recipient, forgotten here (the caller promotes them). */
  take (recipient: string): string[] {
    const ids = this.byRecipient.get(recipient)
    this.byRecipient.delete(recipient)
    return ids == null ? [] : [...ids]
  }

  get size (): number {
    let n = 0
    for (const ids of this.byRecipient.values()) n += ids.size
    return n
  }
}
