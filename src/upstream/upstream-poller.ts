import { hostname } from 'node:os'
import { Queue, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import type { Database } from '../db/database.js'
import { claimLease, releaseLease } from '../store/background-leases.js'
import { pollUpstream, type PollDependencies, type PollingClient, type PollReport } from './poll-upstream.js'
import { refreshSentStates } from './refresh-sent.js'
import type { VdxpUpstreamClient } from './vdxp-client.js'

export const UPSTREAM_POLL_QUEUE = 'upstream-poll'

export interface UpstreamPollJob { upstreamId: string }

export interface RoundResult { upstreamId: string, poll: PollReport, sentRefreshed: number }

export interface UpstreamPollerOptions {
  redisUrl: string
  /** The hub's queue prefix (the same hash tag as the delivery queue). */
  prefix: string
  db: Database
  clients: ReadonlyArray<PollingClient & Pick<VdxpUpstreamClient, 'sentList'>>
  accept: (upstreamId: string) => PollDependencies['accept']
  /** Between two polls of one upstream (provincial hubs poll the axis every few minutes). */
  intervalMs: number
  /** A poll may run this long before another process may take the upstream over; default 10 min. */
  leaseMs?: number
  onRound?: (result: RoundResult) => void
  onItemError?: PollDependencies['onItemError']
  onError?: (err: unknown) => void
}

export interface UpstreamPoller {
  /** Runs one round for this upstream now, in this process (tests; `lienthong upstream poll`). */
  runNow: (upstreamId: string) => Promise<RoundResult | 'busy'>
  close: () => Promise<void>
}

/**
 * The poll of each upstream as a repeatable BullMQ job (a job scheduler per upstream, `every`
 * intervalMs), taken by any worker process. Resumable: nothing of a round's progress lives in the
 * job; each listed item's fate is in PostgreSQL (upstream_received), so a round cut short by a
 * crash is simply continued by the next one. One round per upstream at a time across the cluster:
 * a PostgreSQL lease (background_leases `upstream-poll:<id>`), renewed after every item, so two
 * workers never fetch the same item at once (if they did, the accept path's duplicate rule would
 * still keep one copy).
 *
 * Redis holds only the schedule: it is upserted at start and again every minute, so a Redis that
 * lost its data gets the schedule back without a restart.
 */
export async function startUpstreamPoller (options: UpstreamPollerOptions): Promise<UpstreamPoller> {
  const holder = `${hostname()}:${process.pid}`
  const leaseMs = options.leaseMs ?? 10 * 60_000
  const byId = new Map(options.clients.map((c) => [c.account.id, c]))
  const producer = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000 })
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null })
  const onError = (err: unknown): void => options.onError?.(err)
  producer.on('error', onError)
  connection.on('error', onError)
  const queue = new Queue<UpstreamPollJob>(UPSTREAM_POLL_QUEUE, { connection: producer, prefix: options.prefix })
  queue.on('error', onError)

  const schedule = async (): Promise<void> => {
    for (const id of byId.keys()) {
      await queue.upsertJobScheduler(`poll:${id}`, { every: options.intervalMs }, {
        name: 'poll',
        data: { upstreamId: id },
        // A round's outcome is in PostgreSQL; the job history only needs to be short.
        opts: { removeOnComplete: 20, removeOnFail: 50 }
      })
    }
    // An upstream removed from the registry stops being polled.
    for (const s of await queue.getJobSchedulers()) {
      if (s.key.startsWith('poll:') && !byId.has(s.key.slice('poll:'.length))) await queue.removeJobScheduler(s.key)
    }
  }

  const round = async (upstreamId: string): Promise<RoundResult | 'busy'> => {
    const client = byId.get(upstreamId)
    if (client == null) return 'busy'
    const lease = `upstream-poll:${upstreamId}`
    if (!(await claimLease(options.db, lease, holder, leaseMs))) return 'busy'
    try {
      const poll = await pollUpstream({
        db: options.db,
        client: {
          account: client.account,
          receivedList: async (t) => await client.receivedList(t),
          getEdoc: async (id) => { await claimLease(options.db, lease, holder, leaseMs); return await client.getEdoc(id) },
          updateStatus: async (id, s, r) => await client.updateStatus(id, s, r)
        },
        accept: options.accept(upstreamId),
        ...(options.onItemError != null ? { onItemError: options.onItemError } : {})
      })
      const sentRefreshed = await refreshSentStates(options.db, client).catch((err: unknown) => { onError(err); return 0 })
      const result = { upstreamId, poll, sentRefreshed }
      options.onRound?.(result)
      return result
    } finally {
      await releaseLease(options.db, lease, holder).catch(onError)
    }
  }

  const worker = new Worker<UpstreamPollJob>(UPSTREAM_POLL_QUEUE, async (job: Job<UpstreamPollJob>) => {
    const result = await round(job.data.upstreamId)
    return result === 'busy' ? 'busy' : result.poll
  }, { connection, prefix: options.prefix, concurrency: 1, lockDuration: 60_000 })
  worker.on('error', onError)

  await schedule().catch(onError)
  const reschedule = setInterval(() => { schedule().catch(onError) }, 60_000)
  reschedule.unref()

  return {
    runNow: round,
    close: async () => {
      clearInterval(reschedule)
      await worker.close()
      await queue.close()
      connection.disconnect()
      producer.disconnect()
    }
  }
}

/** Removes the schedules of upstreams no longer configured (and, in tests, every schedule). */
export async function removeUpstreamSchedules (redisUrl: string, prefix: string, keep: readonly string[] = []): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  const queue = new Queue(UPSTREAM_POLL_QUEUE, { connection, prefix })
  try {
    for (const s of await queue.getJobSchedulers()) {
      const id = s.key.replace(/^poll:/, '')
      if (!keep.includes(id)) await queue.removeJobScheduler(s.key)
    }
  } finally {
    await queue.close()
    connection.disconnect()
  }
}
