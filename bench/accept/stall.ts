/**
 * Does a big document stall the hub for everyone else? One large signed document is POSTed and
 * verified while a thread of this process asks `GET /health/live` every 10 ms (one keep-alive
 * connection; the next probe leaves 10 ms after the previous one was sent, or at once if that
 * answer came later) and, on another connection, the main thread submits small distinct documents
 * one after the other. Every probe's latency is recorded with the phase it was sent in: before the
 * upload, while the body is being sent, while the hub verifies and stores it, after the answer.
 * The event-loop delay of both threads is recorded too: a probe can only be as punctual as the
 * thread sending it.
 */
import { Agent, request } from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'

export type Phase = 'before' | 'upload' | 'processing' | 'after'
export const PHASES: Phase[] = ['before', 'upload', 'processing', 'after']

export interface Probe {
  /** Milliseconds since the large POST started (negative: before it). */
  sentAt: number
  latencyMs: number
  phase: Phase
}

export interface LatencySummary {
  count: number
  p50: number
  p99: number
  max: number
}

export interface StallResult {
  /** When the POST started, ms on the wall clock shared by all threads (performance.timeOrigin + performance.now()). */
  postStartedAt: number
  documentBytes: number
  status: number
  /** From the start of the POST until the request body was handed to the kernel. */
  uploadMs: number
  /** From the start of the POST until the answer. */
  totalMs: number
  probes: Probe[]
  health: LatencySummary
  healthByPhase: Record<Phase, LatencySummary>
  /** The slowest probe: when it was sent (ms after the POST started) and in which phase. */
  worst?: Probe
  /** Small documents submitted one at a time during the large one (only those sent before its answer). */
  smallDuring: LatencySummary & { accepted: number, errors: number }
  /** The same small submissions with nothing else going on, just before. */
  smallIdle: LatencySummary & { accepted: number, errors: number }
  /** Event-loop delay of the bench's main thread (which sends the documents) during the test, ms. */
  clientLoopDelayMaxMs: number
  /** Event-loop delay of the probing thread, ms: how punctual the probes themselves were. */
  proberLoopDelayMaxMs: number
}

export function summarize (values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 }
}

interface Answer { status: number, body: string }

function send (agent: Agent, url: URL, method: 'GET' | 'POST', headers: Record<string, string>, body?: Buffer, onUploaded?: () => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body != null ? { ...headers, 'content-length': String(body.length) } : headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (onUploaded != null) req.on('finish', onUploaded)
    req.end(body)
  })
}

/** Wall-clock milliseconds comparable across threads (each thread's performance.now() has its own origin). */
export const now = (): number => performance.timeOrigin + performance.now()

/**
 * The health prober runs in a worker thread of its own, so that nothing this thread does (sending
 * 50 MB, garbage collection of the benchmark's documents) delays a probe. Plain JavaScript: it
 * needs nothing but node:http, and a worker thread on Node 20 gets no TypeScript hooks.
 */
const PROBER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const http = require('node:http')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const now = () => performance.timeOrigin + performance.now()
const probes = []
let stop = false
parentPort.once('message', () => { stop = true })
const loop = monitorEventLoopDelay({ resolution: 1 })
loop.enable()
const probe = () => new Promise((resolve, reject) => {
  const req = http.get(workerData.url, { agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); res.on('error', reject) })
  req.on('error', reject)
})
;(async () => {
  parentPort.postMessage({ started: true })
  while (!stop) {
    const sent = now()
    const status = await probe()
    if (status !== 200) throw new Error('GET /health/live answered ' + status)
    probes.push([sent, now() - sent])
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, workerData.intervalMs - (now() - sent))))
  }
  loop.disable()
  agent.destroy()
  parentPort.postMessage({ probes, loopDelayMaxMs: loop.max / 1e6 })
})().catch((err) => { parentPort.postMessage({ error: String(err && err.stack || err) }) })
`

interface ProberReport { probes: Array<[number, number]>, loopDelayMaxMs: number }

function startProber (url: URL, intervalMs: number): { started: Promise<void>, stop: () => Promise<ProberReport> } {
  const worker = new Worker(PROBER_SOURCE, { eval: true, workerData: { url: url.href, intervalMs } })
  let report: (r: ProberReport) => void = () => {}
  let fail: (err: Error) => void = () => {}
  const done = new Promise<ProberReport>((resolve, reject) => { report = resolve; fail = reject })
  done.catch(() => {})
  let started: () => void = () => {}
  const ready = new Promise<void>((resolve) => { started = resolve })
  worker.on('message', (m: { started?: boolean, error?: string } & Partial<ProberReport>) => {
    if (m.started === true) started()
    else if (m.error != null) fail(new Error(`health prober: ${m.error}`))
    else if (m.probes != null) report({ probes: m.probes, loopDelayMaxMs: m.loopDelayMaxMs ?? 0 })
  })
  worker.on('error', (err) => fail(err))
  return {
    started: Promise.race([ready, done.then(() => {})]),
    stop: async () => {
      worker.postMessage('stop')
      try {
        return await done
      } finally {
        await worker.terminate()
      }
    }
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

const acceptedAnswer = (a: Answer): boolean => {
  if (a.status !== 202) return false
  try {
    return (JSON.parse(a.body) as { duplicate?: unknown }).duplicate === false
  } catch {
    return false
  }
}

/**
 * Small documents one at a time, one every `intervalMs` at most, until `stop()` says so or they
 * run out; latency of each.
 */
async function smallStream (agent: Agent, url: URL, headers: Record<string, string>, documents: Buffer[], intervalMs: number, stop: () => boolean): Promise<{ latencies: number[], accepted: number, errors: number }> {
  const latencies: number[] = []
  let accepted = 0
  let errors = 0
  while (!stop()) {
    const body = documents.shift()
    if (body == null) break
    const started = performance.now()
    const answer = await send(agent, url, 'POST', headers, body).catch((err: Error) => ({ status: 0, body: err.message }))
    if (stop()) break // answered after the large document: not "during"
    latencies.push(performance.now() - started)
    if (acceptedAnswer(answer)) accepted++
    else errors++
    await sleep(Math.max(0, intervalMs - (performance.now() - started)))
  }
  return { latencies, accepted, errors }
}

export async function measureStall (options: {
  url: string
  apiKey: string
  large: Buffer
  /** Distinct small documents: `idleCount` are sent before, the rest during the large one. */
  small: Buffer[]
  idleCount: number
  /** Between two health probes. */
  intervalMs: number
  /** Between two small documents (at most one in flight). */
  smallIntervalMs: number
  /** Probing before the POST and after its answer. */
  marginMs: number
}): Promise<StallResult> {
  const base = new URL(options.url)
  const documentsUrl = new URL('/v1/documents', base)
  const healthUrl = new URL('/health/live', base)
  const headers = { 'content-type': 'application/xml', authorization: `Bearer ${options.apiKey}` }
  const smallAgent = new Agent({ keepAlive: true, maxSockets: 1 })
  const largeAgent = new Agent({ keepAlive: false, maxSockets: 1 })
  const small = [...options.small]
  try {
    // Small documents alone first: their latency with nothing else going on.
    const idle = await smallStream(smallAgent, documentsUrl, headers, small.splice(0, options.idleCount), options.smallIntervalMs, () => false)

    const loop = monitorEventLoopDelay({ resolution: 1 })
    loop.enable()
    let postStarted = Number.POSITIVE_INFINITY
    let uploadedAt = Number.POSITIVE_INFINITY
    let answeredAt = Number.POSITIVE_INFINITY
    const phaseAt = (t: number): Phase => t < postStarted ? 'before' : t < uploadedAt ? 'upload' : t < answeredAt ? 'processing' : 'after'
    const prober = startProber(healthUrl, options.intervalMs)
    await prober.started

    await sleep(options.marginMs)
    postStarted = now()
    const during = smallStream(smallAgent, documentsUrl, headers, small, options.smallIntervalMs, () => answeredAt !== Number.POSITIVE_INFINITY)
    const answer = await send(largeAgent, documentsUrl, 'POST', headers, options.large, () => { uploadedAt = now() })
    answeredAt = now()
    if (!acceptedAnswer(answer)) {
      await prober.stop().catch(() => {})
      throw new Error(`the ${options.large.length}-byte document was not accepted: ${answer.status} ${answer.body.slice(0, 500)}`)
    }
    const smallDuring = await during
    await sleep(options.marginMs)
    const { probes, loopDelayMaxMs } = await prober.stop()
    loop.disable()

    const all = probes.map(([sent, latencyMs]) => ({ sentAt: sent - postStarted, latencyMs, phase: phaseAt(sent) }))
    const worst = all.reduce<Probe | undefined>((w, p) => (w == null || p.latencyMs > w.latencyMs ? p : w), undefined)
    return {
      postStartedAt: postStarted,
      documentBytes: options.large.length,
      status: answer.status,
      uploadMs: uploadedAt - postStarted,
      totalMs: answeredAt - postStarted,
      probes: all,
      health: summarize(all.map((p) => p.latencyMs)),
      healthByPhase: Object.fromEntries(PHASES.map((phase) => [phase, summarize(all.filter((p) => p.phase === phase).map((p) => p.latencyMs))])) as Record<Phase, LatencySummary>,
      ...(worst != null ? { worst } : {}),
      smallDuring: { ...summarize(smallDuring.latencies), accepted: smallDuring.accepted, errors: smallDuring.errors },
      smallIdle: { ...summarize(idle.latencies), accepted: idle.accepted, errors: idle.errors },
      clientLoopDelayMaxMs: loop.max / 1e6,
      proberLoopDelayMaxMs: loopDelayMaxMs
    }
  } finally {
    smallAgent.destroy()
    largeAgent.destroy()
  }
}
