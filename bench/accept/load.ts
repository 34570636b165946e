/**
 * The load: autocannon with a fixed number of connections (closed loop: each connection sends its
 * next document as soon as the previous answer is in) POSTs a fixed list of distinct documents,
 * each exactly once, and checks every answer: 202 with `"duplicate":false`.
 */
import autocannon from 'autocannon'

export interface LoadOptions {
  url: string
  apiKey: string
  /** Each is sent exactly once, in order. */
  documents: Buffer[]
  connections: number
  /** Seconds before autocannon gives up on one request. */
  timeoutSeconds: number
  /**
   * Send through the VDXP API instead (POST /vdxp/sendEdoc, as the national axis SDK does): the
   * signed headers and body of each document; success is 200 with status OK and no duplicate.
   */
  vdxp?: (document: Buffer) => { headers: Record<string, string>, body: Buffer }
}

export interface LoadResult {
  documents: number
  connections: number
  /** Wall time from the first request to the last answer, milliseconds. */
  wallMs: number
  /** 202 answers with duplicate: false. */
  accepted: number
  acceptedPerSecond: number
  /** Everything else: other statuses, duplicates, connection errors, timeouts. */
  errors: number
  firstError?: string
  statusCounts: Record<string, number>
  latencyMs: { p50: number, p90: number, p99: number, max: number, mean: number }
}

export async function runLoad (options: LoadOptions): Promise<LoadResult> {
  const { documents } = options
  let next = 0
  let accepted = 0
  let rejected = 0
  let firstError: string | undefined
  const started = performance.now()
  // The time of the last answer, taken here: autocannon reports the end of a run (and calls back)
  // only on its once-a-second tick, so its end time is the last answer rounded up to the next
  // whole second. With a few seconds of load that alone understated the rate by up to 25%
  // (every run's wall time came out as N s + ~20 ms).
  let lastAnswer = started
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const vdxp = options.vdxp
    autocannon({
      url: vdxp != null ? `${options.url}/vdxp/sendEdoc` : `${options.url}/v1/documents`,
      connections: Math.min(options.connections, documents.length),
      amount: documents.length,
      timeout: options.timeoutSeconds,
      requests: [{
        method: 'POST',
        headers: { 'content-type': 'application/xml', authorization: `Bearer ${options.apiKey}` },
        setupRequest: (request) => {
          const body = documents[next++]
          if (body == null) throw new Error(`autocannon asked for more than the ${documents.length} documents`)
          if (vdxp != null) {
            const signed = vdxp(body)
            return { ...request, headers: signed.headers, body: signed.body }
          }
          return { ...request, body }
        },
        onResponse: (status, body) => {
          lastAnswer = performance.now()
          let answer: { duplicate?: unknown, status?: unknown } = {}
          try {
            answer = JSON.parse(body) as typeof answer
          } catch {}
          const ok = vdxp != null
            ? status === 200 && answer.status === 'OK' && answer.duplicate === undefined
            : status === 202 && answer.duplicate === false
          if (ok) {
            accepted++
          } else {
            rejected++
            firstError ??= `${status}: ${body.slice(0, 300)}`
          }
        }
      }]
    }, (err, res) => { if (err != null) reject(err); else resolve(res) })
  })
  const wallMs = lastAnswer - started
  const statusCounts = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]))
  const errors = rejected + result.errors + result.timeouts + Math.max(0, documents.length - accepted - rejected - result.errors - result.timeouts)
  return {
    documents: documents.length,
    connections: options.connections,
    wallMs,
    accepted,
    acceptedPerSecond: accepted / (wallMs / 1000),
    errors,
    ...(firstError != null ? { firstError } : result.errors > 0 ? { firstError: `${result.errors} connection errors` } : {}),
    statusCounts,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean }
  }
}
