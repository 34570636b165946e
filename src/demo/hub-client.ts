/** The hub could not be reached at all (nothing listening, DNS, TLS). */
export class HubUnreachable extends Error {
  constructor (readonly url: string, cause: unknown) {
    super(`the hub does not answer at ${url} (${causeOf(cause)})`)
    this.name = 'HubUnreachable'
  }
}

/** The hub answered with an error status; `code` is the problem+json code when there is one. */
export class HubRefused extends Error {
  constructor (readonly status: number, readonly code: string | undefined, detail: string) {
    super(`HTTP ${status}${code != null ? ` ${code}` : ''}: ${detail}`)
    this.name = 'HubRefused'
  }
}

export interface HubAnswer {
  status: number
  body: Buffer
  json: <T>() => T
}

/** A demo agency's system talking to the hub's agency API with its API key. */
export class HubClient {
  constructor (readonly base: string, private readonly apiKey: string) {}

  async get (path: string): Promise<HubAnswer> {
    return await this.send('GET', path)
  }

  async post (path: string, body: Buffer | object): Promise<HubAnswer> {
    return await this.send('POST', path, body)
  }

  /** Like get/post, but an error status is thrown as HubRefused. */
  async expect (method: 'GET' | 'POST', path: string, body?: Buffer | object): Promise<HubAnswer> {
    const answer = await this.send(method, path, body)
    if (answer.status >= 400) throw refusal(answer)
    return answer
  }

  private async send (method: string, path: string, body?: Buffer | object): Promise<HubAnswer> {
    const url = this.base + path
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}` }
    let payload: Uint8Array<ArrayBuffer> | string | undefined
    if (Buffer.isBuffer(body)) {
      headers['content-type'] = 'application/xml'
      payload = new Uint8Array(body)
    } else if (body != null) {
      headers['content-type'] = 'application/json'
      payload = JSON.stringify(body)
    }
    let res: Response
    try {
      res = await fetch(url, { method, headers, ...(payload != null ? { body: payload } : {}), signal: AbortSignal.timeout(30_000) })
    } catch (err) {
      throw new HubUnreachable(this.base, err)
    }
    const bytes = Buffer.from(await res.arrayBuffer())
    return { status: res.status, body: bytes, json: <T>() => JSON.parse(bytes.toString('utf8')) as T }
  }
}

export function refusal (answer: HubAnswer): HubRefused {
  try {
    const problem = answer.json<{ code?: string, detail?: string, title?: string }>()
    return new HubRefused(answer.status, problem.code, problem.detail ?? problem.title ?? '')
  } catch {
    return new HubRefused(answer.status, undefined, answer.body.toString('utf8', 0, 300))
  }
}

/** fetch() hides the reason (ECONNREFUSED...) in err.cause. */
export function causeOf (err: unknown): string {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  return cause?.code ?? cause?.message ?? (err as Error).message
}
