/**
 * The backlog: the recipient is down (its server closed: connections refused), N documents for it
 * are submitted with bench/accept's load (`runLoad`: autocannon, closed loop, every answer checked),
 * the bench waits until every one of their deliveries has been tried and refused at least once
 * (`waiting_retry`; the hub keeps retrying, so a few are always `sending` a further refused
 * attempt at any given moment) or parked behind the failing recipient's attempt in flight, then brings the recipient
 * back up on the same port and polls PostgreSQL until all of them are `delivered`.
 *
 * Nothing is put into PostgreSQL or Redis behind the hub's back: every delivery went through the
 * accept path and has been attempted (and refused) by the hub's own worker, on its own backoff
 * schedule (LIENTHONG_RETRY_BASE_MS doubling, with jitter). That schedule is recorded at the moment
 * the recipient comes back, because the drain can end no earlier than the last scheduled retry.
 */
import { runLoad, type LoadResult } from '../accept/load.js'
import type { BenchDocument } from './documents.js'
import { cpuMeter, type CpuDelta, type HubProcess } from './hub.js'
import { now, sleep } from './clock.js'
import type { BenchRecipient } from './recipient.js'

export interface DrainSample {
  /** Milliseconds since the recipient came back up. */
  t: number
  delivered: number
  /** Not delivered and due (next attempt time passed) or being sent. */
  due: number
}

export interface BacklogResult {
  documents: number
  connections: number
  submission: LoadResult
  /** From the end of the submission until every delivery had been tried and refused at least once (`waiting_retry`, or `sending` a retry) or parked, stable for 3 s. */
  settleMs: number
  /** From the first submission until the recipient came back. */
  downMs: number
  /** Deliveries never tried when the recipient came back: parked behind the failing recipient's attempt in flight. */
  parkedAtUp: number
  /** Attempts the hub had made (all refused) when the recipient came back. */
  attemptsAtUp: { total: number, mean: number, max: number }
  /** Next attempt times at the moment the recipient came back, ms after that moment. */
  scheduleAtUp: { first: number, median: number, p90: number, last: number }
  /** Recipient up to every backlog delivery `delivered` in PostgreSQL (polled every `pollMs`). */
  drainMs: number
  pollMs: number
  drainedPerSecond: number
  /** Recipient up to the last first arrival at the recipient. */
  lastArrivalMs: number
  /** Time from up until 10 %, 50 %, 90 % of the documents had arrived. */
  milestones: Array<{ fraction: number, ms: number }>
  /** Most arrivals in any 1 s and any 5 s window, per second. */
  peak1s: number
  peak5s: number
  /** Time during the drain with more deliveries due than the worker may have in flight for one recipient. */
  hubLimitedMs: number
  perRecipient: number
  /** Most deliveries `sending` at once in the drain's samples (POSTs in flight: the worker's per-recipient limit at work). */
  peakInFlight: number
  samples: DrainSample[]
  /** POSTs the recipient received more than once (same document). */
  repeats: number
  delivered: number
  /** CPU per document: while submitting (accept + the refused attempts) and while draining. */
  cpuSubmission: CpuDelta
  cpuDrain: CpuDelta
}

interface Counts { delivered: number, waiting: number, sending: number, untried: number, due: number, open: number, inFlight: number }

async function counts (hub: HubProcess, recipient: string): Promise<Counts> {
  const { rows } = await hub.db.query<Counts>(
    `SELECT count(*) FILTER (WHERE state = 'delivered')::int AS delivered,
            count(*) FILTER (WHERE state = 'waiting_retry')::int AS waiting,
            count(*) FILTER (WHERE state = 'sending' AND attempts > 1)::int AS sending,
            count(*) FILTER (WHERE state = 'queued' OR attempts = 0 OR (state = 'sending' AND attempts = 1))::int AS untried,
            count(*) FILTER (WHERE state <> 'delivered' AND (next_attempt_at IS NULL OR next_attempt_at <= now()))::int AS due,
            count(*) FILTER (WHERE state <> 'delivered')::int AS open,
            count(*) FILTER (WHERE state = 'sending')::int AS "inFlight"
     FROM deliveries WHERE recipient_code = $1`, [recipient])
  return rows[0] as Counts
}

const per = (d: CpuDelta, n: number): CpuDelta => ({ hubMs: d.hubMs / Math.max(1, n), mainThreadMs: d.mainThreadMs / Math.max(1, n), postgresMs: d.postgresMs / Math.max(1, n) })

function peakRate (times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let best = 0
  let lo = 0
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= windowMs) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best / (windowMs / 1000)
}

export async function runBacklog (options: {
  hub: HubProcess
  recipient: BenchRecipient
  recipientCode: string
  documents: BenchDocument[]
  connections: number
  perRecipient: number
  pollMs: number
  settleTimeoutMs: number
  drainTimeoutMs: number
  log: (message: string) => void
}): Promise<BacklogResult> {
  const { hub, recipient, recipientCode, documents, log } = options
  const before = await counts(hub, recipientCode)
  if (before.open !== 0) throw new Error(`${before.open} deliveries to ${recipientCode} are still open before the backlog`)
  const arrivalsBefore = new Set(recipient.arrivals.keys())

  await recipient.stop()
  log(`backlog: recipient down; submitting ${documents.length} documents (${options.connections} connections)`)
  const submissionCpu = cpuMeter(hub)
  const downAt = now()
  const submission = await runLoad({ url: hub.url, apiKey: hub.apiKey, documents: documents.map((d) => d.body), connections: options.connections, timeoutSeconds: 120 })
  const submittedAt = now()
  log(`backlog: ${submission.accepted} accepted at ${submission.acceptedPerSecond.toFixed(1)}/s, ${submission.errors} errors; waiting until every delivery has been tried and refused, or parked`)
  if (submission.errors > 0) throw new Error(`backlog submission: ${submission.errors} documents not accepted; first: ${submission.firstError ?? '?'}`)

  // Refused retries go on the whole time, so some deliveries are always `sending` for a moment.
  // Settled = the hub has done what it will do until the recipient answers: every delivery has
  // been tried and refused at least once (`waiting_retry`, or `sending` a retry), or is parked
  // behind the attempt in flight to the failing recipient (still `queued`, its job delayed in
  // Redis until that recipient answers: src/delivery/delivery-worker.ts, held recipients), and
  // the split has not changed for SETTLE_STABLE_MS.
  const SETTLE_STABLE_MS = 3000
  let c = await counts(hub, recipientCode)
  let stableSince = now()
  let last = `${c.waiting + c.sending}/${c.untried}`
  while (c.waiting + c.sending === 0 || c.waiting + c.sending + c.untried !== submission.accepted || now() - stableSince < SETTLE_STABLE_MS) {
    if (now() - submittedAt > options.settleTimeoutMs) throw new Error(`backlog: not settled after ${options.settleTimeoutMs} ms (${c.waiting + c.sending} refused, ${c.untried} untried of ${submission.accepted})`)
    await sleep(100)
    c = await counts(hub, recipientCode)
    const split = `${c.waiting + c.sending}/${c.untried}`
    if (split !== last) { last = split; stableSince = now() }
  }
  const parkedAtUp = c.untried
  const settleMs = now() - submittedAt
  const cpuSubmission = await submissionCpu.stop()

  const { rows: [schedule] } = await hub.db.query<{ total: number, mean: number, max: number, first: Date, median: Date, p90: Date, last: Date }>(
    `SELECT sum(attempts)::int AS total, avg(attempts)::float8 AS mean, max(attempts)::int AS max,
            min(next_attempt_at) AS first, percentile_disc(0.5) WITHIN GROUP (ORDER BY next_attempt_at) AS median,
            percentile_disc(0.9) WITHIN GROUP (ORDER BY next_attempt_at) AS p90, max(next_attempt_at) AS last
     FROM deliveries WHERE recipient_code = $1 AND state = 'waiting_retry'`, [recipientCode])
  if (schedule == null) throw new Error('backlog: no waiting deliveries')
  const drainCpu = cpuMeter(hub)
  await recipient.start()
  const upAt = now()
  log(`backlog: recipient up after ${Math.round((upAt - downAt) / 1000)} s down; last retry scheduled ${Math.round((schedule.last.getTime() - upAt) / 1000)} s from now; polling until all are delivered`)

  const samples: DrainSample[] = []
  let drainMs = Number.NaN
  let peakInFlight = 0
  let lastLog = upAt
  for (;;) {
    const sampleAt = now()
    c = await counts(hub, recipientCode)
    const delivered = c.delivered - before.delivered
    samples.push({ t: sampleAt - upAt, delivered, due: c.due })
    peakInFlight = Math.max(peakInFlight, c.inFlight)
    if (c.open === 0) {
      drainMs = sampleAt - upAt
      break
    }
    if (sampleAt - upAt > options.drainTimeoutMs) throw new Error(`backlog: ${delivered} of ${documents.length} delivered after ${options.drainTimeoutMs} ms`)
    if (sampleAt - lastLog > 10_000) {
      log(`backlog: ${delivered} delivered after ${Math.round((sampleAt - upAt) / 1000)} s (${c.due} due)`)
      lastLog = sampleAt
    }
    await sleep(options.pollMs - (now() - sampleAt))
  }
  const cpuDrain = await drainCpu.stop()

  const arrivals = [...recipient.arrivals.entries()].filter(([id]) => !arrivalsBefore.has(id)).map(([, at]) => at - upAt).sort((a, b) => a - b)
  const n = submission.accepted
  let hubLimitedMs = 0
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1] as DrainSample
    if (prev.due > options.perRecipient) hubLimitedMs += (samples[i] as DrainSample).t - prev.t
  }
  const at = (ms: number): number => ms - upAt
  return {
    documents: documents.length,
    connections: options.connections,
    submission,
    settleMs,
    parkedAtUp,
    downMs: upAt - downAt,
    attemptsAtUp: { total: schedule.total, mean: schedule.mean, max: schedule.max },
    scheduleAtUp: { first: at(schedule.first.getTime()), median: at(schedule.median.getTime()), p90: at(schedule.p90.getTime()), last: at(schedule.last.getTime()) },
    drainMs,
    pollMs: options.pollMs,
    drainedPerSecond: n / (drainMs / 1000),
    lastArrivalMs: arrivals.at(-1) ?? Number.NaN,
    milestones: [0.1, 0.5, 0.9].map((fraction) => ({ fraction, ms: arrivals[Math.max(0, Math.ceil(fraction * n) - 1)] ?? Number.NaN })),
    peak1s: peakRate(arrivals, 1000),
    peak5s: peakRate(arrivals, 5000),
    hubLimitedMs,
    perRecipient: options.perRecipient,
    peakInFlight,
    samples,
    repeats: recipient.repeats,
    delivered: arrivals.length,
    cpuSubmission: per(cpuSubmission, n),
    cpuDrain: per(cpuDrain, n)
  }
}
