import { push, PushRefusedError, PushTimeoutError, type PushResponse, type PushTls } from './push-client.js'
import type { PushPin, PushSettings } from '../registry/push-endpoint.js'
import { classifyResponse, parseRetryAfter, type Outcome } from './retry-policy.js'

/** One outbound message: these bytes, to this agency's registered endpoint, with these headers. */
export interface OutboundMessage {
  /** The registered push URL; null: the agency has none (a permanent failure, nothing is sent). */
  url: string | null
  body: Buffer
  headers: Record<string, string>
  /** The endpoint's registered server certificate, checked in the TLS handshake. */
  pin: PushPin | undefined
  /** Whose endpoint it is (messages, pin errors). */
  agency: string
}

export interface SendSettings {
  timeoutMs: number
  tls?: PushTls | undefined
  /** Development relaxations of the push rules (http://, unpinned); default from the environment. */
  pushSettings?: PushSettings | undefined
  now?: () => number
}

/** What one attempt produced: the classified outcome and what the limiter and the trail need. */
export interface SendResult {
  outcome: Outcome
  response: PushResponse | undefined
  status: number | null
  /** Evidence kept on the row: `HTTP <status> <start of the body>`, or the network error. */
  answer: string | null
  /** The recipient's Retry-After, in ms from now, when it sent one. */
  retryAfterMs: number | undefined
  /** Wall time of the exchange (0 when nothing was sent). */
  latencyMs: number
  timedOut: boolean
  /**
   * False when no byte went to the recipient: no URL, or the hub refused to send (plain http,
   * no pin). Such an attempt says nothing about the recipient's health.
   */
  sent: boolean
}

/**
 * Sends one message and classifies the answer (retry-policy.ts): the "send these bytes ->
 * classify" step every outbound kind shares (document pushes, receipt callbacks, and the peer
 * hub and upstream kinds to come). No URL, or a URL the hub refuses to use, is permanent; a
 * server presenting another certificate than the registered one is a network-level failure
 * (retried: the recipient may be renewing its certificate and the registry be updated within the
 * window; nothing was sent to it).
 */
export async function sendMessage (message: OutboundMessage, settings: SendSettings): Promise<SendResult> {
  const now = settings.now ?? Date.now
  if (message.url == null) {
    const reason = `${message.agency} has no push URL`
    return { outcome: { kind: 'permanent', reason }, response: undefined, status: null, answer: reason, retryAfterMs: undefined, latencyMs: 0, timedOut: false, sent: false }
  }
  const started = performance.now()
  let response: PushResponse | undefined
  let networkError: string | undefined
  let refused = false
  let timedOut = false
  try {
    response = await push({
      url: message.url,
      body: message.body,
      headers: message.headers,
      timeoutMs: settings.timeoutMs,
      ...(settings.tls != null ? { tls: settings.tls } : {}),
      pin: message.pin,
      agency: message.agency,
      ...(settings.pushSettings != null ? { settings: settings.pushSettings } : {})
    })
  } catch (err) {
    networkError = (err as Error).message
    refused = err instanceof PushRefusedError
    timedOut = err instanceof PushTimeoutError
  }
  const latencyMs = refused ? 0 : performance.now() - started
  const outcome: Outcome = refused ? { kind: 'permanent', reason: networkError as string } : classifyResponse(response?.status, networkError)
  const retryAfter = response?.headers['retry-after']
  return {
    outcome,
    response,
    status: response?.status ?? null,
    answer: response != null ? `HTTP ${response.status} ${response.body.toString('utf8', 0, 2000)}` : networkError ?? null,
    retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, now()),
    latencyMs,
    timedOut,
    sent: !refused
  }
}
