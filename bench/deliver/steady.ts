/**
 * Submissions at a fixed rate, open loop: document i leaves at start + i / rate whatever happened
 * to the earlier ones (a keep-alive agent with more sockets than documents in flight, so nothing
 * waits for a connection on the client side), and the latency of each document is the time from
 * its submission until the recipient has received it. Then the hub's own timestamps of each
 * document (documents.accepted_at, set by the hub once the document is verified; deliveries.delivered_at;
 * attempts) split that time in two.
 */
import { Agent, request } from 'node:http'
import type { BenchDocument } from './documents.js'
import { cpuMeter, type CpuDelta, type HubProcess } from './hub.js'
import { now, percentiles, sleep, type Percentiles } from './clock.js'
import type { BenchRecipient } from './recipient.js'

export interface Submission {
  number: number
  scheduledAt: number
  sentAt: number
  answeredAt: number
  status: number
  /** The hub's document id (202 answers). */
  documentId?: string
  accepted: boolean
  error?: string
}

async function post (agent: Agent, url: URL, apiKey: string, body: Buffer, timeoutMs: number): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/xml', authorization: `Bearer ${apiKey}`, 'content-length': String(body.length) },
      timeout: timeoutMs
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}

async function submitOne (agent: Agent, url: URL, apiKey: string, doc: BenchDocument, scheduledAt: number, timeoutMs: number): Promise<Submission> {
  const sentAt = now()
  try {
    const answer = await post(agent, url, apiKey, doc.body, timeoutMs)
    const answeredAt = now()
    let parsed: { id?: unknown, duplicate?: unknown } = {}
    try {
      parsed = JSON.parse(answer.body) as typeof parsed
    } catch {}
    const accepted = answer.status === 202 && parsed.duplicate === false && typeof parsed.id === 'string'
    return {
      number: doc.number,
      scheduledAt,
      sentAt,
      answeredAt,
      status: answer.status,
      ...(typeof parsed.id === 'string' ? { documentId: parsed.id } : {}),
      accepted,
      ...(accepted ? {} : { error: `${answer.status}: ${answer.body.slice(0, 300)}` })
    }
  } catch (err) {
    return { number: doc.number, scheduledAt, sentAt, answeredAt: now(), status: 0, accepted: false, error: (err as Error).message }
  }
}

/** Open loop: document i is sent at start + i * 1000 / rate ms. */
export async function submitAtRate (url: string, apiKey: string, documents: BenchDocument[], rate: number, timeoutMs = 120_000): Promise<Submission[]> {
  const target = new URL('/v1/documents', url)
  const agent = new Agent({ keepAlive: true, maxSockets: 2048 })
  try {
    const start = now() + 20
    const pending: Array<Promise<Submission>> = []
    for (const [i, doc] of documents.entries()) {
      const at = start + i * 1000 / rate
      const wait = at - now()
      if (wait > 1) await sleep(wait)
      pending.push(submitOne(agent, target, apiKey, doc, at, timeoutMs))
    }
    return await Promise.all(pending)
  } finally {
    agent.destroy()
  }
}

/** Closed loop, `concurrency` at a time (warm-up). */
export async function submitClosedLoop (url: string, apiKey: string, documents: BenchDocument[], concurrency: number): Promise<Submission[]> {
  const target = new URL('/v1/documents', url)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const queue = [...documents]
  const results: Submission[] = []
  try {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let doc = queue.shift(); doc != null; doc = queue.shift()) results.push(await submitOne(agent, target, apiKey, doc, now(), 120_000))
    }))
    return results
  } finally {
    agent.destroy()
  }
}

/** Waits until the recipient has received every one of `documentIds` or `timeoutMs` passed; true when all arrived. */
export async function waitForArrivals (recipient: BenchRecipient, documentIds: string[], timeoutMs: number): Promise<boolean> {
  const deadline = now() + timeoutMs
  while (!documentIds.every((id) => recipient.arrivals.has(id))) {
    if (now() > deadline) return false
    await sleep(50)
  }
  return true
}

export interface RatePhaseResult {
  label: string
  offeredRate: number
  documents: number
  /** Span of the schedule: documents / rate. */
  scheduleMs: number
  /** Latest submission relative to its schedule (the sender's own punctuality). */
  maxSendLagMs: number
  accepted: number
  errors: number
  firstError?: string
  /** Submissions sent per second: documents / (last sent - first sent). */
  sentPerSecond: number
  /** Accepted / (last 202 - first submission). */
  acceptedPerSecond: number
  delivered: number
  /** Delivered / (last arrival - first submission). */
  deliveredPerSecond: number
  /** First submission to last arrival. */
  wallMs: number
  /** Submission start to the 202 answer. */
  acceptLatency: Percentiles
  /** Submission start to the recipient having the whole body: the end-to-end latency. */
  endToEnd: Percentiles
  /** End-to-end p50 of the first and of the last third of the documents (by submission): a queue that grows shows here. */
  firstThirdP50: number
  lastThirdP50: number
  /** Submission start to documents.accepted_at (the hub's clock after verification, before the accepting transaction). */
  toVerified: Percentiles
  /** documents.accepted_at to the recipient having the body: store + receipt + enqueue + worker + claim + TLS + POST. */
  verifiedToArrival: Percentiles
  /** The 202 answer to the recipient having the body (negative when the delivery overtook the answer). */
  answerToArrival: Percentiles
  /** Recipient received to deliveries.delivered_at (start of the hub's recording transaction, after the 200 came back). */
  arrivalToRecorded: Percentiles
  /** Deliveries that needed more than one attempt. */
  retried: number
  /** CPU from the first submission until every document was delivered, per delivered document. */
  cpuPerDocument: CpuDelta
  clientCpuMsPerDocument: number
}

interface HubTimes { id: string, accepted_at: Date, delivered_at: Date | null, attempts: number, state: string }

/** Submits `documents` at `rate`, waits until the recipient has them all (or `drainTimeoutMs`), measures. */
export async function runRatePhase (options: {
  label: string
  hub: HubProcess
  recipient: BenchRecipient
  documents: BenchDocument[]
  rate: number
  drainTimeoutMs: number
}): Promise<RatePhaseResult> {
  const { hub, recipient, documents, rate } = options
  const meter = cpuMeter(hub)
  const client = process.cpuUsage()
  const submissions = await submitAtRate(hub.url, hub.apiKey, documents, rate)
  const accepted = submissions.filter((s) => s.accepted)
  const ids = accepted.map((s) => s.documentId as string)
  await waitForArrivals(recipient, ids, options.drainTimeoutMs)
  // Let the hub record the last deliveries before reading its CPU and timestamps.
  const recordDeadline = now() + 10_000
  let times: HubTimes[] = []
  do {
    await sleep(100)
    times = (await hub.db.query<HubTimes>(
      `SELECT d.id, d.accepted_at, x.delivered_at, x.attempts, x.state FROM documents d JOIN deliveries x ON x.document_id = d.id
       WHERE d.id = ANY($1::uuid[])`, [ids])).rows
  } while (times.some((t) => t.state !== 'delivered' && recipient.arrivals.has(t.id)) && now() < recordDeadline)
  const cpu = await meter.stop()
  const clientCpu = process.cpuUsage(client)

  const firstSent = Math.min(...submissions.map((s) => s.sentAt))
  const lastSent = Math.max(...submissions.map((s) => s.sentAt))
  const delivered = accepted.filter((s) => recipient.arrivals.has(s.documentId as string))
  const arrival = (s: Submission): number => recipient.arrivals.get(s.documentId as string) as number
  const lastArrival = delivered.length > 0 ? Math.max(...delivered.map(arrival)) : firstSent
  const lastAnswer = accepted.length > 0 ? Math.max(...accepted.map((s) => s.answeredAt)) : firstSent
  const byId = new Map(times.map((t) => [t.id, t]))
  const sorted = [...delivered].sort((a, b) => a.sentAt - b.sentAt)
  const third = Math.max(1, Math.floor(sorted.length / 3))
  const e2e = (s: Submission): number => arrival(s) - s.sentAt
  const hubTime = (s: Submission): HubTimes | undefined => byId.get(s.documentId as string)
  const errors = submissions.filter((s) => !s.accepted)
  const per = Math.max(1, delivered.length)
  return {
    label: options.label,
    offeredRate: rate,
    documents: documents.length,
    scheduleMs: documents.length * 1000 / rate,
    maxSendLagMs: Math.max(...submissions.map((s) => s.sentAt - s.scheduledAt)),
    accepted: accepted.length,
    errors: errors.length,
    ...(errors[0]?.error != null ? { firstError: errors[0].error } : {}),
    sentPerSecond: submissions.length > 1 ? (submissions.length - 1) / ((lastSent - firstSent) / 1000) : 0,
    acceptedPerSecond: accepted.length / ((lastAnswer - firstSent) / 1000),
    delivered: delivered.length,
    deliveredPerSecond: delivered.length / ((lastArrival - firstSent) / 1000),
    wallMs: lastArrival - firstSent,
    acceptLatency: percentiles(accepted.map((s) => s.answeredAt - s.sentAt)),
    endToEnd: percentiles(delivered.map(e2e)),
    firstThirdP50: percentiles(sorted.slice(0, third).map(e2e)).p50,
    lastThirdP50: percentiles(sorted.slice(-third).map(e2e)).p50,
    toVerified: percentiles(delivered.flatMap((s) => { const t = hubTime(s); return t != null ? [t.accepted_at.getTime() - s.sentAt] : [] })),
    verifiedToArrival: percentiles(delivered.flatMap((s) => { const t = hubTime(s); return t != null ? [arrival(s) - t.accepted_at.getTime()] : [] })),
    answerToArrival: percentiles(delivered.map((s) => arrival(s) - s.answeredAt)),
    arrivalToRecorded: percentiles(delivered.flatMap((s) => { const t = hubTime(s); return t?.delivered_at != null ? [t.delivered_at.getTime() - arrival(s)] : [] })),
    retried: times.filter((t) => t.attempts > 1).length,
    cpuPerDocument: { hubMs: cpu.hubMs / per, mainThreadMs: cpu.mainThreadMs / per, postgresMs: cpu.postgresMs / per },
    clientCpuMsPerDocument: (clientCpu.user + clientCpu.system) / 1000 / per
  }
}
