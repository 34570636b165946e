/** The part of autocannon's programmatic API that bench/accept uses (the package ships no types). */
declare module 'autocannon' {
  namespace autocannon {
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Buffer
      /** Called before each request is built; returning a falsy value skips to the next request. */
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request | null | undefined
      onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[]>) => void
    }
    interface Options {
      url: string
      connections?: number
      pipelining?: number
      /** Total requests; overrides duration. */
      amount?: number
      /** Seconds. */
      duration?: number
      /** Seconds before a request times out. */
      timeout?: number
      method?: string
      headers?: Record<string, string>
      requests?: Request[]
      bailout?: number
    }
    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      p50: number
      p90: number
      p97_5: number
      p99: number
    }
    interface Result {
      latency: Histogram
      requests: Histogram & { sent: number }
      throughput: Histogram
      errors: number
      timeouts: number
      mismatches: number
      non2xx: number
      resets: number
      statusCodeStats: Record<string, { count: number }>
      /** Seconds. */
      duration: number
      start: Date
      finish: Date
    }
    interface Instance {
      stop: () => void
    }
  }
  function autocannon (options: autocannon.Options, callback: (err: Error | null, result: autocannon.Result) => void): autocannon.Instance
  export = autocannon
}
