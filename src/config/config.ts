import { isAbsolute, join, resolve } from 'node:path'
import { PACKAGE_ROOT } from '../cli/defaults.js'
import { pushSettingsFromEnv, SECURE_PUSH, type PushSettings } from '../registry/push-endpoint.js'

/**
 * The hub's configuration, read from the environment once, validated, with one clear message per
 * wrong key. This is the only module that reads process.env for the hub; every key is listed in
 * .env.example with its default and meaning.
 */
export interface HubConfig {
  host: string
  port: number
  /** PostgreSQL connection string; without it the hub uses embedded PGlite under dataDir. */
  databaseUrl: string | undefined
  dataDir: string
  redisUrl: string
  queuePrefix: string
  trustDir: string
  registryFile: string
  hubKeyFile: string
  hubCertFile: string
  hubChainFile: string | undefined
  maxBytes: number
  verifyThreads: number | undefined
  verifyQueue: number | undefined
  requireRevocation: boolean
  /**
   * Revocation-data refresh: CRL URLs a worker fetches every `refreshMs` (none: only the trust
   * directory's CRLs), and how long before a CRL's nextUpdate readiness already fails.
   */
  crl: { urls: string[], refreshMs: number, freshnessMarginMs: number }
  /** Readiness fails when the hub signing, gateway TLS or push client certificate expires within this. */
  certExpiryMarginDays: number
  tls: { keyFile: string, certFile: string, clientCaFile: string | undefined } | undefined
  rateLimitPerMinute: number
  /** Failed authentications per client address per minute, then 429 until the minute is over. */
  authFailuresPerMinute: number
  /**
   * Slow clients (docs/gateway.md, "Timeouts and limits"): the request headers must arrive within
   * `headersMs`, the whole request within `requestMs`, and a body may pause at most `bodyIdleMs`
   * between two chunks; an idle keep-alive connection is closed after `keepAliveMs`.
   */
  timeouts: { headersMs: number, requestMs: number, bodyIdleMs: number, keepAliveMs: number }
  /** Request-body bytes being received or verified at once: overall and per credential. */
  inFlightBytes: { total: number, perCredential: number }
  logLevel: string
  /**
   * Operator token (Authorization: Bearer): GET /metrics on the API port is served only when it
   * is set (or metricsOpen), and /health/ready shows each check's detail only to it.
   */
  metricsToken: string | undefined
  /** LIENTHONG_METRICS_OPEN=1: /metrics on the API port without a token (behind a firewall). */
  metricsOpen: boolean
  /**
   * LIENTHONG_DEMO=1: `serve`, `worker` and `start` on PostgreSQL may run on the public demo key
   * material of certs-example/ (refused otherwise; `start` on the embedded database always may).
   */
  demo: boolean
  /** Port of `lienthong worker`'s own /metrics listener (on `host`); undefined: none; 0: any free port. */
  workerMetricsPort: number | undefined
  reconcileIntervalMs: number
  /**
   * On SIGTERM/SIGINT: how long a gateway lets requests in progress finish (then drops their
   * connections) and a worker lets deliveries in progress finish (then leaves them to another
   * worker, once their job lock expires).
   */
  shutdownTimeoutMs: number
  /** Days after which finished documents lose their signed bytes (undefined: kept forever). */
  retentionDays: number | undefined
  retentionIntervalMs: number
  delivery: {
    concurrency: number
    perRecipient: number
    /** Ceiling of a recipient's adaptive concurrency per worker (it starts at perRecipient; recipient-slots.ts). */
    maxPerRecipient: number
    timeoutMs: number
    retryBaseMs: number
    retryWindowMs: number
    /** The hub's TLS client certificate towards push recipients, and the CAs their servers chain to. */
    clientCertFile: string
    clientKeyFile: string
    serverCaFile: string | undefined
    /**
     * BullMQ job lock of a delivery worker (default 3 s, renewed every half of it) and how often it
     * looks for jobs whose worker died (default 1 s): together they bound how long a killed
     * worker's deliveries wait before another worker takes them over.
     */
    workerLockMs: number | undefined
    workerStalledMs: number
    /** How often the worker looks for receipts to push to senders that receive by push. */
    receiptCallbackIntervalMs: number
    /** Development-only relaxations of the push rules (http://, unpinned endpoints); see docs/agency-registry.md. */
    push: PushSettings
  }
  /** How often the worker signs a checkpoint of the signature log head (docs/signature-log.md). */
  checkpointIntervalMs: number
}

/** The two development push settings, validated like every other key (src/registry/push-endpoint.ts). */
function devPushSettings (http: string | undefined, unpinned: string | undefined, problems: string[]): PushSettings {
  try {
    return pushSettingsFromEnv({ LIENTHONG_DEV_ALLOW_HTTP_PUSH: http, LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: unpinned })
  } catch (err) {
    problems.push((err as Error).message)
    return SECURE_PUSH
  }
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const demo = (...parts: string[]): string => join(PACKAGE_ROOT, 'certs-example', ...parts)

export function loadConfig (env: NodeJS.ProcessEnv = process.env): HubConfig {
  const problems: string[] = []
  const str = (key: string, fallback: string): string => {
    const value = env[key]
    return value == null || value === '' ? fallback : value
  }
  const optional = (key: string): string | undefined => {
    const value = env[key]
    return value == null || value === '' ? undefined : value
  }
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = env[key]
    if (raw == null || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key}=${raw}: must be an integer between ${min} and ${max}`)
      return fallback
    }
    return value
  }
  const optionalInt = (key: string, min: number, max: number): number | undefined =>
    env[key] == null || env[key] === '' ? undefined : int(key, min, min, max)
  const path = (value: string): string => (isAbsolute(value) ? value : resolve(value))

  const revocation = str('LIENTHONG_REVOCATION', 'require')
  if (revocation !== 'require' && revocation !== 'best-effort') problems.push(`LIENTHONG_REVOCATION=${revocation}: must be "require" or "best-effort"`)
  const databaseUrl = optional('DATABASE_URL')
  if (databaseUrl != null && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL: must start with postgres:// or postgresql://')
  const redisUrl = str('REDIS_URL', 'redis://127.0.0.1:6379')
  if (!/^rediss?:\/\//.test(redisUrl)) problems.push(`REDIS_URL=${redisUrl}: must start with redis:// or rediss://`)
  const tlsKey = optional('LIENTHONG_TLS_KEY')
  const tlsCert = optional('LIENTHONG_TLS_CERT')
  if ((tlsKey == null) !== (tlsCert == null)) problems.push('LIENTHONG_TLS_KEY and LIENTHONG_TLS_CERT must be set together (HTTPS) or both left empty (HTTP)')
  const crlUrls = str('LIENTHONG_CRL_URLS', '').split(',').map((u) => u.trim()).filter((u) => u !== '')
  for (const url of crlUrls) {
    if (!/^https?:\/\/[^/\s]/.test(url) || !URL.canParse(url)) problems.push(`LIENTHONG_CRL_URLS: "${url}" is not an http(s) URL`)
  }
  const logLevel = str('LIENTHONG_LOG_LEVEL', 'info')
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) problems.push(`LIENTHONG_LOG_LEVEL=${logLevel}: must be one of fatal, error, warn, info, debug, trace, silent`)

  const flag = (key: string, raw: string | undefined): boolean => {
    if (raw == null || raw === '' || raw === '0' || raw === 'false') return false
    if (raw === '1' || raw === 'true') return true
    problems.push(`${key}=${raw}: must be 1 (true) or 0 (false)`)
    return false
  }
  const maxBytes = int('LIENTHONG_MAX_BYTES', 50 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024)
  const inFlightPerCredential = int('LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL', 2 * maxBytes, 1024, 64 * 1024 * 1024 * 1024)
  const inFlightTotal = int('LIENTHONG_INFLIGHT_BYTES', 4 * maxBytes, 1024, 64 * 1024 * 1024 * 1024)
  if (inFlightPerCredential < maxBytes) problems.push(`LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL=${inFlightPerCredential}: must be at least LIENTHONG_MAX_BYTES (${maxBytes}), or no document of the largest size could be sent`)
  if (inFlightTotal < inFlightPerCredential) problems.push(`LIENTHONG_INFLIGHT_BYTES=${inFlightTotal}: must be at least LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL (${inFlightPerCredential})`)

  const config: HubConfig = {
    host: str('LIENTHONG_HOST', '127.0.0.1'),
    port: int('LIENTHONG_PORT', 8080, 0, 65535),
    databaseUrl,
    dataDir: path(str('LIENTHONG_DATA_DIR', 'data')),
    redisUrl,
    queuePrefix: str('LIENTHONG_QUEUE_PREFIX', '{lienthong}'),
    trustDir: path(str('LIENTHONG_TRUST_DIR', demo('trust'))),
    registryFile: path(str('LIENTHONG_REGISTRY', demo('registry.json'))),
    hubKeyFile: path(str('LIENTHONG_HUB_KEY', demo('hub', 'signing-key.pem'))),
    hubCertFile: path(str('LIENTHONG_HUB_CERT', demo('hub', 'signing-cert.pem'))),
    hubChainFile: env.LIENTHONG_HUB_CHAIN === '' ? undefined : path(str('LIENTHONG_HUB_CHAIN', demo('trust', 'issuing-ca.pem'))),
    maxBytes,
    verifyThreads: optionalInt('LIENTHONG_VERIFY_THREADS', 1, 256),
    verifyQueue: optionalInt('LIENTHONG_VERIFY_QUEUE', 1, 100000),
    requireRevocation: revocation !== 'best-effort',
    crl: {
      urls: crlUrls,
      refreshMs: int('LIENTHONG_CRL_REFRESH_MS', 3_600_000, 1000, 7 * 24 * 3_600_000),
      freshnessMarginMs: int('LIENTHONG_CRL_FRESHNESS_MARGIN_MS', 6 * 3_600_000, 0, 30 * 24 * 3_600_000)
    },
    certExpiryMarginDays: int('LIENTHONG_CERT_EXPIRY_MARGIN_DAYS', 30, 0, 3650),
    tls: tlsKey != null && tlsCert != null
      ? { keyFile: path(tlsKey), certFile: path(tlsCert), clientCaFile: optional('LIENTHONG_TLS_CLIENT_CA') }
      : undefined,
    rateLimitPerMinute: int('LIENTHONG_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    authFailuresPerMinute: int('LIENTHONG_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    timeouts: {
      headersMs: int('LIENTHONG_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
      requestMs: int('LIENTHONG_REQUEST_TIMEOUT_MS', 300_000, 100, 3_600_000),
      bodyIdleMs: int('LIENTHONG_BODY_TIMEOUT_MS', 30_000, 100, 600_000),
      keepAliveMs: int('LIENTHONG_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 600_000)
    },
    inFlightBytes: { total: inFlightTotal, perCredential: inFlightPerCredential },
    logLevel,
    metricsToken: optional('LIENTHONG_METRICS_TOKEN'),
    metricsOpen: flag('LIENTHONG_METRICS_OPEN', env.LIENTHONG_METRICS_OPEN),
    demo: flag('LIENTHONG_DEMO', env.LIENTHONG_DEMO),
    workerMetricsPort: optionalInt('LIENTHONG_WORKER_METRICS_PORT', 0, 65535),
    reconcileIntervalMs: int('LIENTHONG_RECONCILE_INTERVAL_MS', 5000, 100, 3_600_000),
    shutdownTimeoutMs: int('LIENTHONG_SHUTDOWN_TIMEOUT_MS', 25_000, 100, 600_000),
    retentionDays: optionalInt('LIENTHONG_RETENTION_DAYS', 1, 36_500),
    retentionIntervalMs: int('LIENTHONG_RETENTION_INTERVAL_MS', 3_600_000, 1000, 7 * 24 * 3_600_000),
    delivery: {
      concurrency: int('LIENTHONG_DELIVERY_CONCURRENCY', 16, 1, 1000),
      perRecipient: int('LIENTHONG_DELIVERY_PER_RECIPIENT', 2, 1, 100),
      maxPerRecipient: int('LIENTHONG_DELIVERY_MAX_PER_RECIPIENT', 16, 1, 1000),
      timeoutMs: int('LIENTHONG_PUSH_TIMEOUT_MS', 30_000, 100, 600_000),
      retryBaseMs: int('LIENTHONG_RETRY_BASE_MS', 2000, 10, 3_600_000),
      retryWindowMs: int('LIENTHONG_RETRY_WINDOW_MS', 24 * 3600 * 1000, 1000, 30 * 24 * 3600 * 1000),
      clientCertFile: path(str('LIENTHONG_PUSH_CLIENT_CERT', demo('hub', 'tls-cert.pem'))),
      clientKeyFile: path(str('LIENTHONG_PUSH_CLIENT_KEY', demo('hub', 'tls-key.pem'))),
      serverCaFile: env.LIENTHONG_PUSH_SERVER_CA === '' ? undefined : path(str('LIENTHONG_PUSH_SERVER_CA', demo('trust', 'root-ca.pem'))),
      workerLockMs: optionalInt('LIENTHONG_WORKER_LOCK_MS', 1000, 3_600_000),
      workerStalledMs: int('LIENTHONG_WORKER_STALLED_MS', 1000, 500, 3_600_000),
      receiptCallbackIntervalMs: int('LIENTHONG_RECEIPT_CALLBACK_INTERVAL_MS', 1000, 50, 3_600_000),
      push: devPushSettings(env.LIENTHONG_DEV_ALLOW_HTTP_PUSH, env.LIENTHONG_DEV_ALLOW_UNPINNED_PUSH, problems)
    },
    checkpointIntervalMs: int('LIENTHONG_CHECKPOINT_INTERVAL_MS', 600_000, 1000, 7 * 24 * 3_600_000)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
