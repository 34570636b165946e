/**
 * Enqueues of concurrent accepts merged into one call (issue 15, "enqueue pipelined"): every
 * accepted push document adds its jobs right after its commit; at a few hundred documents per
 * second many commits land in the same turn of the event loop, and one addBulk (one MULTI to
 * Redis) for all of them costs a fraction of one per document. Items given in one turn go out
 * together at the next setImmediate; each caller's promise settles with that call, so a caller
 * whose add failed still sees the error (and clears its rows' flag, see accept-submission.ts).
 */
export type EnqueueFn<T> = (items: readonly T[]) => Promise<void>

export function coalesceEnqueues<T> (enqueue: EnqueueFn<T>, maxBatch = 500): EnqueueFn<T> {
  let pending: { items: T[], done: Promise<void> } | undefined
  return async (items) => {
    if (items.length === 0) return
    if (pending == null || pending.items.length + items.length > maxBatch) {
      const batch: T[] = []
      const done = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          if (pending?.items === batch) pending = undefined
          enqueue(batch).then(resolve, reject)
        })
      })
      pending = { items: batch, done }
    }
    pending.items.push(...items)
    await pending.done
  }
}
