import { PACKAGE_ROOT } from '../paths.js'
import { readEnv, type EnvValues } from './env-schema.js'

type E = EnvValues

/**
 * The hub's configuration, read from the environment once (through the schema of env-schema.ts,
 * which declares every key with its type, default and constraints), with one clear message per
 * wrong key naming it. Every key is listed in .env.example with its default and meaning.
 */
export interface HubConfig {
  host: E['LIENTHONG_HOST']
  port: E['LIENTHONG_PORT']
  /** PostgreSQL connection string; without it the hub uses embedded PGlite under dataDir. */
  databaseUrl: E['DATABASE_URL']
  dataDir: E['LIENTHONG_DATA_DIR']
  redisUrl: E['REDIS_URL']
  queuePrefix: E['LIENTHONG_QUEUE_PREFIX']
  trustDir: E['LIENTHONG_TRUST_DIR']
  registryFile: E['LIENTHONG_REGISTRY']
  /** This hub's id in the backbone (hop lists, its signed directory, peers' registries). */
  hubId: E['LIENTHONG_HUB_ID']
  /** Hops a forwarded document may have made before this hub refuses it (HOP_LIMIT). */
  hopLimit: E['LIENTHONG_HOP_LIMIT']
  hubKeyFile: E['LIENTHONG_HUB_KEY']
  hubCertFile: E['LIENTHONG_HUB_CERT']
  hubChainFile: E['LIENTHONG_HUB_CHAIN']
  maxBytes: E['LIENTHONG_MAX_BYTES']
  verifyThreads: E['LIENTHONG_VERIFY_THREADS']
  verifyQueue: E['LIENTHONG_VERIFY_QUEUE']
  requireRevocation: boolean
  /**
   * Revocation-data refresh: CRL URLs a worker fetches every `refreshMs` (none: only the trust
   * directory's CRLs), and how long before a CRL's nextUpdate readiness already fails.
   */
  crl: { urls: E['LIENTHONG_CRL_URLS'], refreshMs: E['LIENTHONG_CRL_REFRESH_MS'], freshnessMarginMs: E['LIENTHONG_CRL_FRESHNESS_MARGIN_MS'] }
  /** Readiness fails when the hub signing, gateway TLS or push client certificate expires within this. */
  certExpiryMarginDays: E['LIENTHONG_CERT_EXPIRY_MARGIN_DAYS']
  tls: { keyFile: string, certFile: string, clientCaFile: E['LIENTHONG_TLS_CLIENT_CA'] } | undefined
  rateLimitPerMinute: E['LIENTHONG_RATE_LIMIT_PER_MINUTE']
  /** Failed authentications per client address per minute, then 429 until the minute is over. */
  authFailuresPerMinute: E['LIENTHONG_AUTH_FAILURES_PER_MINUTE']
  /** Console sessions: idle and absolute lifetimes; the cookie always Secure (TLS at a proxy). */
  sessions: { idleMs: number, absoluteMs: number, secureCookies: E['LIENTHONG_SECURE_COOKIES'] }
  /**
   * Slow clients (docs/gateway.md, "Timeouts and limits"): the request headers must arrive within
   * `headersMs`, the whole request within `requestMs`, and a body may pause at most `bodyIdleMs`
   * between two chunks; an idle keep-alive connection is closed after `keepAliveMs`.
   */
  timeouts: { headersMs: E['LIENTHONG_HEADERS_TIMEOUT_MS'], requestMs: E['LIENTHONG_REQUEST_TIMEOUT_MS'], bodyIdleMs: E['LIENTHONG_BODY_TIMEOUT_MS'], keepAliveMs: E['LIENTHONG_KEEP_ALIVE_TIMEOUT_MS'] }
  /** Request-body bytes being received or verified at once: overall and per credential. */
  inFlightBytes: { total: number, perCredential: number }
  logLevel: E['LIENTHONG_LOG_LEVEL']
  /**
   * Operator token (Authorization: Bearer): GET /metrics on the API port is served only when it
   * is set (or metricsOpen), and /health/ready shows each check's detail only to it.
   */
  metricsToken: E['LIENTHONG_METRICS_TOKEN']
  /** LIENTHONG_METRICS_OPEN=1: /metrics on the API port without a token (behind a firewall). */
  metricsOpen: E['LIENTHONG_METRICS_OPEN']
  /**
   * LIENTHONG_DEMO=1: `serve`, `worker` and `start` on PostgreSQL may run on the public demo key
   * material of certs-example/ (refused otherwise; `start` on the embedded database always may).
   */
  demo: E['LIENTHONG_DEMO']
  /** Port of `lienthong worker`'s own /metrics listener (on `host`); undefined: none; 0: any free port. */
  workerMetricsPort: E['LIENTHONG_WORKER_METRICS_PORT']
  reconcileIntervalMs: E['LIENTHONG_RECONCILE_INTERVAL_MS']
  /**
   * How long an open push delivery must be untouched before the reconciler may re-add its job
   * (src/queue/reconciler.ts). At least the push timeout: shorter, a delivery whose POST is still
   * in flight after Redis lost its job can be sent by a second worker at the same time.
   */
  reconcileGraceMs: E['LIENTHONG_RECONCILE_GRACE_MS']
  /**
   * On SIGTERM/SIGINT: how long a gateway lets requests in progress finish (then drops their
   * connections) and a worker lets deliveries in progress finish (then leaves them to another
   * worker, once their job lock expires).
   */
  shutdownTimeoutMs: E['LIENTHONG_SHUTDOWN_TIMEOUT_MS']
  /** Days after which finished documents lose their signed bytes (undefined: kept forever). */
  retentionDays: E['LIENTHONG_RETENTION_DAYS']
  retentionIntervalMs: E['LIENTHONG_RETENTION_INTERVAL_MS']
  delivery: {
    concurrency: E['LIENTHONG_DELIVERY_CONCURRENCY']
    perRecipient: E['LIENTHONG_DELIVERY_PER_RECIPIENT']
    /** Ceiling of a recipient's adaptive concurrency per worker (it starts at perRecipient; recipient-slots.ts). */
    maxPerRecipient: E['LIENTHONG_DELIVERY_MAX_PER_RECIPIENT']
    timeoutMs: E['LIENTHONG_PUSH_TIMEOUT_MS']
    retryBaseMs: E['LIENTHONG_RETRY_BASE_MS']
    retryWindowMs: E['LIENTHONG_RETRY_WINDOW_MS']
    /** The hub's TLS client certificate towards push recipients, and the CAs their servers chain to. */
    clientCertFile: E['LIENTHONG_PUSH_CLIENT_CERT']
    clientKeyFile: E['LIENTHONG_PUSH_CLIENT_KEY']
    serverCaFile: E['LIENTHONG_PUSH_SERVER_CA']
    /**
     * BullMQ job lock of a delivery worker (default 3 s, renewed every half of it) and how often it
     * looks for jobs whose worker died (default 1 s): together they bound how long a killed
     * worker's deliveries wait before another worker takes them over.
     */
    workerLockMs: E['LIENTHONG_WORKER_LOCK_MS']
    workerStalledMs: E['LIENTHONG_WORKER_STALLED_MS']
    /** How often the worker looks for receipts to push to senders that receive by push. */
    receiptCallbackIntervalMs: E['LIENTHONG_RECEIPT_CALLBACK_INTERVAL_MS']
    /**
     * Development-only relaxations of the push rules (http://, unpinned endpoints); see
     * docs/agency-registry.md. The shape of PushSettings (src/registry/push-endpoint.ts).
     */
    push: { allowPlainHttp: E['LIENTHONG_DEV_ALLOW_HTTP_PUSH'], allowUnpinned: E['LIENTHONG_DEV_ALLOW_UNPINNED_PUSH'] }
  }
  /** How often the worker signs a checkpoint of the signature log head (docs/signature-log.md). */
  checkpointIntervalMs: E['LIENTHONG_CHECKPOINT_INTERVAL_MS']
  /**
   * LIENTHONG_VDXP_SECRET_KEY: the key (32 bytes, hex or base64) that seals VDXP system secrets at
   * rest; unset: derived from the hub signing key file (src/vdxp/secret-box.ts).
   */
  vdxpSecretKey: E['LIENTHONG_VDXP_SECRET_KEY']
  /** The signed hub directory (docs/directory.md): validity of ours, refresh of peers', size cap of theirs. */
  directory: { validityMs: E['LIENTHONG_DIRECTORY_VALIDITY_MS'], refreshMs: E['LIENTHONG_DIRECTORY_REFRESH_MS'], maxBytes: E['LIENTHONG_DIRECTORY_MAX_BYTES'] }
  /** Upstream VDXP axes (registry /upstreams, src/upstream/): poll interval, call timeout. */
  upstream: { pollMs: E['LIENTHONG_UPSTREAM_POLL_MS'], timeoutMs: E['LIENTHONG_UPSTREAM_TIMEOUT_MS'] }
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/**
 * The HubConfig of `env`: each key read through the schema (a wrong one named in a ConfigError,
 * all of them at once), then the rules that involve two keys.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): HubConfig {
  const { values: v, problems } = readEnv(env, { packageRoot: PACKAGE_ROOT })

  if ((v.LIENTHONG_TLS_KEY == null) !== (v.LIENTHONG_TLS_CERT == null)) problems.push('LIENTHONG_TLS_KEY and LIENTHONG_TLS_CERT must be set together (HTTPS) or both left empty (HTTP)')
  const maxBytes = v.LIENTHONG_MAX_BYTES
  const inFlightPerCredential = v.LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL ?? 2 * maxBytes
  const inFlightTotal = v.LIENTHONG_INFLIGHT_BYTES ?? 4 * maxBytes
  if (inFlightPerCredential < maxBytes) problems.push(`LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL=${inFlightPerCredential}: must be at least LIENTHONG_MAX_BYTES (${maxBytes}), or no document of the largest size could be sent`)
  if (inFlightTotal < inFlightPerCredential) problems.push(`LIENTHONG_INFLIGHT_BYTES=${inFlightTotal}: must be at least LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL (${inFlightPerCredential})`)

  const config: HubConfig = {
    host: v.LIENTHONG_HOST,
    port: v.LIENTHONG_PORT,
    databaseUrl: v.DATABASE_URL,
    dataDir: v.LIENTHONG_DATA_DIR,
    redisUrl: v.REDIS_URL,
    queuePrefix: v.LIENTHONG_QUEUE_PREFIX,
    trustDir: v.LIENTHONG_TRUST_DIR,
    registryFile: v.LIENTHONG_REGISTRY,
    hubId: v.LIENTHONG_HUB_ID,
    hopLimit: v.LIENTHONG_HOP_LIMIT,
    hubKeyFile: v.LIENTHONG_HUB_KEY,
    hubCertFile: v.LIENTHONG_HUB_CERT,
    hubChainFile: v.LIENTHONG_HUB_CHAIN,
    maxBytes,
    verifyThreads: v.LIENTHONG_VERIFY_THREADS,
    verifyQueue: v.LIENTHONG_VERIFY_QUEUE,
    requireRevocation: v.LIENTHONG_REVOCATION !== 'best-effort',
    crl: {
      urls: v.LIENTHONG_CRL_URLS,
      refreshMs: v.LIENTHONG_CRL_REFRESH_MS,
      freshnessMarginMs: v.LIENTHONG_CRL_FRESHNESS_MARGIN_MS
    },
    certExpiryMarginDays: v.LIENTHONG_CERT_EXPIRY_MARGIN_DAYS,
    tls: v.LIENTHONG_TLS_KEY != null && v.LIENTHONG_TLS_CERT != null
      ? { keyFile: v.LIENTHONG_TLS_KEY, certFile: v.LIENTHONG_TLS_CERT, clientCaFile: v.LIENTHONG_TLS_CLIENT_CA }
      : undefined,
    rateLimitPerMinute: v.LIENTHONG_RATE_LIMIT_PER_MINUTE,
    authFailuresPerMinute: v.LIENTHONG_AUTH_FAILURES_PER_MINUTE,
    sessions: { idleMs: v.LIENTHONG_SESSION_IDLE_MINUTES * 60_000, absoluteMs: v.LIENTHONG_SESSION_MAX_HOURS * 3_600_000, secureCookies: v.LIENTHONG_SECURE_COOKIES },
    timeouts: {
      headersMs: v.LIENTHONG_HEADERS_TIMEOUT_MS,
      requestMs: v.LIENTHONG_REQUEST_TIMEOUT_MS,
      bodyIdleMs: v.LIENTHONG_BODY_TIMEOUT_MS,
      keepAliveMs: v.LIENTHONG_KEEP_ALIVE_TIMEOUT_MS
    },
    inFlightBytes: { total: inFlightTotal, perCredential: inFlightPerCredential },
    logLevel: v.LIENTHONG_LOG_LEVEL,
    metricsToken: v.LIENTHONG_METRICS_TOKEN,
    metricsOpen: v.LIENTHONG_METRICS_OPEN,
    demo: v.LIENTHONG_DEMO,
    workerMetricsPort: v.LIENTHONG_WORKER_METRICS_PORT,
    reconcileIntervalMs: v.LIENTHONG_RECONCILE_INTERVAL_MS,
    reconcileGraceMs: v.LIENTHONG_RECONCILE_GRACE_MS,
    shutdownTimeoutMs: v.LIENTHONG_SHUTDOWN_TIMEOUT_MS,
    retentionDays: v.LIENTHONG_RETENTION_DAYS,
    retentionIntervalMs: v.LIENTHONG_RETENTION_INTERVAL_MS,
    delivery: {
      concurrency: v.LIENTHONG_DELIVERY_CONCURRENCY,
      perRecipient: v.LIENTHONG_DELIVERY_PER_RECIPIENT,
      maxPerRecipient: v.LIENTHONG_DELIVERY_MAX_PER_RECIPIENT,
      timeoutMs: v.LIENTHONG_PUSH_TIMEOUT_MS,
      retryBaseMs: v.LIENTHONG_RETRY_BASE_MS,
      retryWindowMs: v.LIENTHONG_RETRY_WINDOW_MS,
      clientCertFile: v.LIENTHONG_PUSH_CLIENT_CERT,
      clientKeyFile: v.LIENTHONG_PUSH_CLIENT_KEY,
      serverCaFile: v.LIENTHONG_PUSH_SERVER_CA,
      workerLockMs: v.LIENTHONG_WORKER_LOCK_MS,
      workerStalledMs: v.LIENTHONG_WORKER_STALLED_MS,
      receiptCallbackIntervalMs: v.LIENTHONG_RECEIPT_CALLBACK_INTERVAL_MS,
      push: { allowPlainHttp: v.LIENTHONG_DEV_ALLOW_HTTP_PUSH, allowUnpinned: v.LIENTHONG_DEV_ALLOW_UNPINNED_PUSH }
    },
    checkpointIntervalMs: v.LIENTHONG_CHECKPOINT_INTERVAL_MS,
    vdxpSecretKey: v.LIENTHONG_VDXP_SECRET_KEY,
    directory: { validityMs: v.LIENTHONG_DIRECTORY_VALIDITY_MS, refreshMs: v.LIENTHONG_DIRECTORY_REFRESH_MS, maxBytes: v.LIENTHONG_DIRECTORY_MAX_BYTES },
    upstream: { pollMs: v.LIENTHONG_UPSTREAM_POLL_MS, timeoutMs: v.LIENTHONG_UPSTREAM_TIMEOUT_MS }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
