import { hostname } from 'node:os'
import type { Queryable } from '../db/database.js'
import { claimLease, releaseLease } from '../store/background-leases.js'

/**
 * How every background loop of the hub runs (the outbox reconciler, receipt callbacks,
 * retention, signature-log checkpoints; the CRL refresh follows the same shape with its own
 * lease row): a local timer in each process, one round at a time, the work itself claimed in
 * PostgreSQL. Not BullMQ job schedulers, on purpose: the reconciler is what repairs Redis after
 * it lost its data, so the loops cannot live in Redis; and PostgreSQL is the system of record
 * the rounds read anyway.
 *
 * - `lease`: the round should run in one process at a time across the cluster (a sweep that would
 *   only be repeated, a daily retention pass, a checkpoint). The lease lasts `leaseFraction` of the
 *   interval and its holder renews it, so one process keeps the rounds and, if it dies, another
 *   takes over within about two intervals. Without `lease`, every process runs every round and the
 *   work is claimed row by row (SKIP LOCKED: receipt callbacks).
 * - Rounds never overlap in a process: the next is scheduled when the previous has finished.
 * - A failed round is reported through `onError` and the next round runs as scheduled.
 */
/** A lease row of background_leases named after the task, or the task's own claim (the CRL refresh keeps its lease in crl_refresh). */
export type TaskLease = { db: Queryable, holder?: string, leaseFraction?: number } | { claim: (leaseMs: number) => Promise<boolean>, leaseFraction?: number }

export interface PeriodicTaskOptions<T> {
  /** The lease's name, and the task's in messages. */
  name: string
  intervalMs: number
  /** Delay of the first round; default: one interval. */
  firstDelayMs?: number
  /** One process at a time across the cluster: the database that holds the lease. */
  lease?: TaskLease
  run: () => Promise<T>
  onError: (err: unknown) => void
}

export interface PeriodicTask<T> {
  /** Runs a round now (or joins the one running); null when another process holds the lease. */
  runNow: () => Promise<T | null>
  /** Stops the timer, waits for a round in progress, and gives the lease up. */
  close: () => Promise<void>
}

export function startPeriodicTask<T> (options: PeriodicTaskOptions<T>): PeriodicTask<T> {
  const lease = options.lease
  const holder = lease != null && 'db' in lease && lease.holder != null ? lease.holder : `${hostname()}:${process.pid}`
  const leaseMs = Math.max(1, Math.floor(options.intervalMs * (lease?.leaseFraction ?? 0.9)))
  const claim = lease == null
    ? undefined
    : 'db' in lease ? async () => await claimLease(lease.db, options.name, holder, leaseMs) : async () => await lease.claim(leaseMs)
  let timer: NodeJS.Timeout | undefined
  let closed = false
  let running: Promise<T | null> | undefined

  async function round (): Promise<T | null> {
    if (claim != null && !(await claim())) return null
    return await options.run()
  }

  function runNow (): Promise<T | null> {
    running ??= round().finally(() => { running = undefined })
    return running
  }

  function schedule (delay: number): void {
    if (closed) return
    timer = setTimeout(() => {
      runNow().catch(options.onError).finally(() => schedule(options.intervalMs))
    }, delay)
    timer.unref()
  }

  schedule(options.firstDelayMs ?? options.intervalMs)
  return {
    runNow,
    close: async () => {
      closed = true
      clearTimeout(timer)
      // A failed last round was reported through onError already.
      await running?.catch(() => {})
      // Best effort: a lease not given up (database gone at shutdown) simply runs out.
      if (lease != null && 'db' in lease) await releaseLease(lease.db, options.name, holder).catch(() => {})
    }
  }
}
