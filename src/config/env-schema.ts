import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { envTextOf } from './env-text.js'
import { envKey, flag, integer, oneOf, optionalInteger, optionalText, path, text, urlList } from './env-key-types.js'

/**
 * Every environment key the hub reads, in one place: its type, default, constraints and meaning.
 * config.ts turns the values into the HubConfig; .env.example documents each key with the same
 * default (test/config/env-example.test.ts checks both ways). A new key is one line here and one
 * in .env.example. The environment holds strings: env-key-types.ts says how each kind of key is
 * read from its text (empty counts as unset unless a key says otherwise).
 */
export const ENV_SCHEMA = Type.Object({
  LIENTHONG_HOST: text('127.0.0.1', 'Address the HTTP listener (and a worker\'s metrics listener) binds to.'),
  LIENTHONG_PORT: integer(8080, 0, 65535, 'Port of the HTTP listener.'),

  DATABASE_URL: optionalText('PostgreSQL connection string; empty: embedded PGlite under LIENTHONG_DATA_DIR/pglite.', {
    pattern: '^postgres(ql)?://', hint: 'must start with postgres:// or postgresql://', secret: true
  }),
  LIENTHONG_DATA_DIR: path('data', 'Data directory (embedded database, demo API keys), relative to the working directory.'),
  REDIS_URL: text('redis://127.0.0.1:6379', 'Redis of the BullMQ delivery queue.', { pattern: '^rediss?://', hint: 'must start with redis:// or rediss://' }),
  LIENTHONG_QUEUE_PREFIX: text('{lienthong}', 'Queue key prefix; the {hash tag} keeps a queue\'s keys in one Redis Cluster slot.'),

  LIENTHONG_TRUST_DIR: path('certs-example/trust', 'Trust store directory (PEM anchors, intermediates, CRLs).', { defaultInPackage: true }),
  LIENTHONG_REGISTRY: path('certs-example/registry.json', 'Agency registry file.', { defaultInPackage: true }),
  LIENTHONG_REVOCATION: oneOf(['require', 'best-effort'], 'require', 'require: fail closed without fresh CRLs; best-effort: check only the CRLs present.'),
  LIENTHONG_CRL_URLS: urlList('CRL distribution URLs (comma-separated, http or https) a worker fetches.'),
  LIENTHONG_CRL_REFRESH_MS: integer(3_600_000, 1000, 7 * 24 * 3_600_000, 'How often a worker fetches LIENTHONG_CRL_URLS.'),
  LIENTHONG_CRL_FRESHNESS_MARGIN_MS: integer(6 * 3_600_000, 0, 30 * 24 * 3_600_000, 'Readiness fails when a CRL in use reaches its nextUpdate within this.'),
  LIENTHONG_CERT_EXPIRY_MARGIN_DAYS: integer(30, 0, 3650, 'Readiness fails when the hub signing, gateway TLS or push client certificate expires within this.'),
  LIENTHONG_DEMO: flag('1: a demo installation, which may run on the public demo key material of certs-example/.'),

  LIENTHONG_HUB_ID: text('hub', 'This hub\'s id in the backbone: what peer hubs register it as, written in hop lists and its signed directory.', { pattern: '^[a-z0-9][a-z0-9.-]{0,62}$', hint: 'lower-case letters, digits, dots and dashes, at most 63' }),
  LIENTHONG_HOP_LIMIT: integer(8, 1, 64, 'A document forwarded by a peer hub that already went through this many hubs is refused (HOP_LIMIT).'),
  LIENTHONG_HUB_KEY: path('certs-example/hub/signing-key.pem', 'The hub\'s signing key (receipts).', { defaultInPackage: true }),
  LIENTHONG_HUB_CERT: path('certs-example/hub/signing-cert.pem', 'The hub\'s signing certificate.', { defaultInPackage: true }),
  LIENTHONG_HUB_CHAIN: path('certs-example/trust/issuing-ca.pem', 'Chain of the hub\'s signing certificate; empty: none.', { defaultInPackage: true, emptyIsNone: true }),

  LIENTHONG_MAX_BYTES: integer(50 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024, 'Largest accepted document in bytes.'),
  LIENTHONG_INFLIGHT_BYTES: optionalInteger(1024, 64 * 1024 * 1024 * 1024, 'Request-body bytes held at once over all callers (default: 4 x LIENTHONG_MAX_BYTES).'),
  LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL: optionalInteger(1024, 64 * 1024 * 1024 * 1024, 'Request-body bytes held at once per credential (default: 2 x LIENTHONG_MAX_BYTES).'),
  LIENTHONG_HEADERS_TIMEOUT_MS: integer(10_000, 100, 600_000, 'The request line and headers must arrive within this.'),
  LIENTHONG_REQUEST_TIMEOUT_MS: integer(300_000, 100, 3_600_000, 'The whole request must arrive within this.'),
  LIENTHONG_BODY_TIMEOUT_MS: integer(30_000, 100, 600_000, 'A body may pause at most this long between two chunks.'),
  LIENTHONG_KEEP_ALIVE_TIMEOUT_MS: integer(72_000, 100, 600_000, 'An idle keep-alive connection is closed after this.'),
  LIENTHONG_VERIFY_THREADS: optionalInteger(1, 256, 'Verification worker threads (default: number of cores).'),
  LIENTHONG_VERIFY_QUEUE: optionalInteger(1, 100000, 'Verifications waiting for a thread (default: 4 x threads).'),

  LIENTHONG_TLS_KEY: path(undefined, 'HTTPS key of the gateway (with LIENTHONG_TLS_CERT; empty: HTTP).'),
  LIENTHONG_TLS_CERT: path(undefined, 'HTTPS certificate (leaf, then intermediates) of the gateway.'),
  LIENTHONG_TLS_CLIENT_CA: path(undefined, 'CA bundle of agency TLS client certificates (empty: API keys only).'),

  LIENTHONG_RATE_LIMIT_PER_MINUTE: integer(600, 1, 1_000_000, 'Requests per minute per credential.'),
  LIENTHONG_AUTH_FAILURES_PER_MINUTE: integer(30, 1, 1_000_000, 'Failed authentications per minute per client address, then 429.'),
  LIENTHONG_SESSION_IDLE_MINUTES: integer(30, 1, 24 * 60, 'A console session ends after this long without a request.'),
  LIENTHONG_SESSION_MAX_HOURS: integer(12, 1, 24 * 30, 'A console session ends this long after sign-in, however active.'),
  LIENTHONG_SECURE_COOKIES: flag('1: the session cookie is always Secure (TLS ends at a proxy in front); otherwise Secure exactly when the gateway serves TLS itself.'),
  LIENTHONG_RECONCILE_INTERVAL_MS: integer(5000, 100, 3_600_000, 'How often deliveries not yet in Redis are (re-)enqueued.'),
  LIENTHONG_RECONCILE_GRACE_MS: integer(10_000, 100, 3_600_000, 'How long an unfinished push delivery must be untouched before a job missing in Redis is re-added; a `sending` one waits at least LIENTHONG_PUSH_TIMEOUT_MS + 1 s.'),
  LIENTHONG_SHUTDOWN_TIMEOUT_MS: integer(25_000, 100, 600_000, 'On SIGTERM/SIGINT: how long requests and deliveries in progress may finish.'),
  LIENTHONG_DELIVERY_CONCURRENCY: integer(16, 1, 1000, 'Deliveries in progress at once per worker process.'),
  LIENTHONG_DELIVERY_PER_RECIPIENT: integer(2, 1, 100, 'Deliveries in progress at once per recipient (where the adaptive limit starts).'),
  LIENTHONG_DELIVERY_MAX_PER_RECIPIENT: integer(16, 1, 1000, 'Ceiling of the adaptive per-recipient limit.'),
  LIENTHONG_PUSH_TIMEOUT_MS: integer(30_000, 100, 600_000, 'Timeout of one push to a recipient.'),
  LIENTHONG_RETRY_BASE_MS: integer(2000, 10, 3_600_000, 'Retry backoff base.'),
  LIENTHONG_RETRY_WINDOW_MS: integer(24 * 3600 * 1000, 1000, 30 * 24 * 3600 * 1000, 'Retry window, after which a delivery fails.'),
  LIENTHONG_PUSH_CLIENT_CERT: path('certs-example/hub/tls-cert.pem', 'The hub\'s TLS client certificate towards push recipients.', { defaultInPackage: true }),
  LIENTHONG_PUSH_CLIENT_KEY: path('certs-example/hub/tls-key.pem', 'The key of LIENTHONG_PUSH_CLIENT_CERT.', { defaultInPackage: true }),
  LIENTHONG_PUSH_SERVER_CA: path('certs-example/trust/root-ca.pem', 'CA bundle the recipients\' HTTPS servers chain to; empty: Node\'s default CAs.', { defaultInPackage: true, emptyIsNone: true }),
  LIENTHONG_DEV_ALLOW_HTTP_PUSH: flag('DEVELOPMENT ONLY: accept http:// push URLs (clear text).', { lenient: true }),
  LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: flag('DEVELOPMENT ONLY: accept push endpoints without a server-certificate pin.', { lenient: true }),
  LIENTHONG_WORKER_LOCK_MS: optionalInteger(1000, 3_600_000, 'BullMQ job lock of a delivery worker (default: 3000).'),
  LIENTHONG_WORKER_STALLED_MS: integer(1000, 500, 3_600_000, 'How often a worker looks for jobs whose worker died.'),
  LIENTHONG_RECEIPT_CALLBACK_INTERVAL_MS: integer(1000, 50, 3_600_000, 'How often the worker looks for receipts to push to senders.'),
  LIENTHONG_RETENTION_DAYS: optionalInteger(1, 36_500, 'Days after which finished documents lose their signed bytes (empty: kept forever).'),
  LIENTHONG_RETENTION_INTERVAL_MS: integer(3_600_000, 1000, 7 * 24 * 3_600_000, 'How often the worker runs retention.'),
  LIENTHONG_CHECKPOINT_INTERVAL_MS: integer(600_000, 1000, 7 * 24 * 3_600_000, 'How often the worker signs a checkpoint of the signature log head.'),
  LIENTHONG_DIRECTORY_VALIDITY_MS: integer(86_400_000, 60_000, 30 * 24 * 3_600_000, 'How long this hub\'s signed directory is valid; re-issued (new version) when half is left.'),
  LIENTHONG_DIRECTORY_REFRESH_MS: integer(300_000, 1000, 24 * 3_600_000, 'How often peer hubs\' signed directories are fetched and verified.'),
  LIENTHONG_DIRECTORY_MAX_BYTES: integer(4 * 1024 * 1024, 1024, 256 * 1024 * 1024, 'Largest peer directory accepted, in bytes.'),
  LIENTHONG_LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', 'Least severe log level written (pino levels; silent: none).'),
  LIENTHONG_VDXP_SECRET_KEY: optionalText('Key sealing VDXP system secrets at rest (AES-256-GCM), 32 bytes as 64 hex digits or base64; empty: derived from LIENTHONG_HUB_KEY.', {
    pattern: '^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$', hint: 'must be 32 bytes, as 64 hex digits or base64', secret: true
  }),
  LIENTHONG_UPSTREAM_POLL_MS: integer(60_000, 1000, 24 * 3_600_000, 'How often a worker polls each upstream VDXP axis (registry /upstreams) for documents and statuses addressed to this hub\'s agencies.'),
  LIENTHONG_UPSTREAM_TIMEOUT_MS: integer(60_000, 1000, 3_600_000, 'Timeout of one call to an upstream VDXP axis (connect, send, whole answer).'),
  LIENTHONG_METRICS_TOKEN: optionalText('Operator token: GET /metrics on the API port and readiness details need it.', { secret: true }),
  LIENTHONG_METRICS_OPEN: flag('1: GET /metrics on the API port without a token (behind a firewall).'),
  LIENTHONG_WORKER_METRICS_PORT: optionalInteger(0, 65535, 'Port of `lienthong worker`\'s /metrics listener (empty: none; 0: any free port).')
})

/** The environment as the hub reads it: each key parsed, defaulted and checked. */
export type EnvValues = Static<typeof ENV_SCHEMA>
export type EnvKey = keyof EnvValues & string

export const ENV_KEYS = Object.keys(ENV_SCHEMA.properties) as EnvKey[]

export function keySchema (key: EnvKey): TSchema {
  return ENV_SCHEMA.properties[key]
}

/** The options of readEnv: where the defaults that point into the package resolve. */
export interface ReadEnvOptions {
  packageRoot: string
}

/**
 * Reads every key of the schema from `env`: the typed values (a wrong value is replaced by its
 * default, so later checks still run) and one sentence per wrong key, naming it.
 */
export function readEnv (env: NodeJS.ProcessEnv, options: ReadEnvOptions): { values: EnvValues, problems: string[] } {
  const problems: string[] = []
  const values: Record<string, unknown> = {}
  for (const key of ENV_KEYS) {
    const read = envKey(key, keySchema(key)).read(env[key], options.packageRoot)
    if (read.problems != null) problems.push(...read.problems)
    if (read.value !== undefined) values[key] = read.value
  }
  return { values: values as EnvValues, problems }
}

/**
 * One key, read like readEnv does (for a module that needs only it, e.g. the push settings of
 * src/registry/push-endpoint.ts). Keys whose default lies in the package need readEnv.
 */
export function readEnvKey<K extends EnvKey> (key: K, env: NodeJS.ProcessEnv = process.env): { value: EnvValues[K], problems: string[] } {
  const read = envKey(key, keySchema(key)).read(env[key], undefined)
  return { value: read.value as EnvValues[K], problems: read.problems ?? [] }
}

/**
 * The raw text of a key when it is set and not empty (the CLI's option defaults: `--trust`
 * defaults to LIENTHONG_TRUST_DIR). Only keys of the schema can be named.
 */
export function envText (key: EnvKey, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return envTextOf(key, env)
}
