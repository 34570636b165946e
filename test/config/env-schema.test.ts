import { join, resolve } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig, type HubConfig } from '../../src/config/config.js'
import { ENV_KEYS, keySchema, readEnvKey } from '../../src/config/env-schema.js'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { pushSettingsFromEnv } from '../../src/registry/push-endpoint.js'

// The configuration schema (src/config/env-schema.ts): the defaults the hub runs on when nothing
// is set, one clear message per wrong value naming its key, and the keys whose empty value means
// something else than "unset".

const demo = (...parts: string[]): string => join(PACKAGE_ROOT, 'certs-example', ...parts)

t.test('every key has a description, and the defaults are the documented ones', async (t) => {
  for (const key of ENV_KEYS) t.ok((keySchema(key).description ?? '').length > 10, `${key} is described`)
  const c = loadConfig({})
  const cases: Array<[string, (c: HubConfig) => unknown, unknown]> = [
    ['LIENTHONG_HOST', (c) => c.host, '127.0.0.1'],
    ['LIENTHONG_PORT', (c) => c.port, 8080],
    ['DATABASE_URL', (c) => c.databaseUrl, undefined],
    ['LIENTHONG_DATA_DIR', (c) => c.dataDir, resolve('data')],
    ['REDIS_URL', (c) => c.redisUrl, 'redis://127.0.0.1:6379'],
    ['LIENTHONG_QUEUE_PREFIX', (c) => c.queuePrefix, '{lienthong}'],
    ['LIENTHONG_TRUST_DIR', (c) => c.trustDir, demo('trust')],
    ['LIENTHONG_REGISTRY', (c) => c.registryFile, demo('registry.json')],
    ['LIENTHONG_HUB_CHAIN', (c) => c.hubChainFile, demo('trust', 'issuing-ca.pem')],
    ['LIENTHONG_PUSH_SERVER_CA', (c) => c.delivery.serverCaFile, demo('trust', 'root-ca.pem')],
    ['LIENTHONG_REVOCATION', (c) => c.requireRevocation, true],
    ['LIENTHONG_CRL_URLS', (c) => c.crl.urls, []],
    ['LIENTHONG_MAX_BYTES', (c) => c.maxBytes, 52_428_800],
    ['LIENTHONG_INFLIGHT_BYTES (4 x max bytes)', (c) => c.inFlightBytes.total, 4 * 52_428_800],
    ['LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL (2 x max bytes)', (c) => c.inFlightBytes.perCredential, 2 * 52_428_800],
    ['LIENTHONG_VERIFY_THREADS', (c) => c.verifyThreads, undefined],
    ['LIENTHONG_TLS_KEY/CERT', (c) => c.tls, undefined],
    ['LIENTHONG_LOG_LEVEL', (c) => c.logLevel, 'info'],
    ['LIENTHONG_DEMO', (c) => c.demo, false],
    ['LIENTHONG_METRICS_OPEN', (c) => c.metricsOpen, false],
    ['LIENTHONG_DELIVERY_PER_RECIPIENT', (c) => c.delivery.perRecipient, 2],
    ['LIENTHONG_DELIVERY_MAX_PER_RECIPIENT', (c) => c.delivery.maxPerRecipient, 16],
    ['LIENTHONG_RETRY_WINDOW_MS', (c) => c.delivery.retryWindowMs, 86_400_000],
    ['LIENTHONG_WORKER_LOCK_MS', (c) => c.delivery.workerLockMs, undefined],
    ['LIENTHONG_DEV_ALLOW_*', (c) => c.delivery.push, { allowPlainHttp: false, allowUnpinned: false }],
    ['LIENTHONG_RETENTION_DAYS', (c) => c.retentionDays, undefined],
    ['LIENTHONG_CHECKPOINT_INTERVAL_MS', (c) => c.checkpointIntervalMs, 600_000],
    ['LIENTHONG_HOP_LIMIT', (c) => c.hopLimit, 8]
  ]
  for (const [key, get, expected] of cases) t.same(get(c), expected, key)
})

t.test('values are parsed to their types; relative paths resolve against the working directory', async (t) => {
  const c = loadConfig({
    LIENTHONG_PORT: '9000',
    LIENTHONG_TRUST_DIR: 'my/trust',
    LIENTHONG_REVOCATION: 'best-effort',
    LIENTHONG_CRL_URLS: ' http://a.example/x.crl , https://b.example/y.crl,',
    LIENTHONG_DEMO: 'true',
    LIENTHONG_DEV_ALLOW_HTTP_PUSH: ' TRUE ',
    LIENTHONG_TLS_KEY: 'k.pem',
    LIENTHONG_TLS_CERT: '/abs/c.pem',
    LIENTHONG_MAX_BYTES: '2048',
    LIENTHONG_WORKER_METRICS_PORT: '0'
  })
  t.equal(c.port, 9000)
  t.equal(c.trustDir, resolve('my/trust'))
  t.equal(c.requireRevocation, false)
  t.same(c.crl.urls, ['http://a.example/x.crl', 'https://b.example/y.crl'])
  t.equal(c.demo, true)
  t.same(c.delivery.push, { allowPlainHttp: true, allowUnpinned: false }, 'the development switches take any case and spaces, as before')
  t.same(c.tls, { keyFile: resolve('k.pem'), certFile: '/abs/c.pem', clientCaFile: undefined })
  t.same(c.inFlightBytes, { total: 8192, perCredential: 4096 }, 'derived defaults follow LIENTHONG_MAX_BYTES')
  t.equal(c.workerMetricsPort, 0, '0 is a value, not unset')
})

t.test('empty is unset, except where it means "none"', async (t) => {
  const c = loadConfig({ LIENTHONG_PORT: '', LIENTHONG_HUB_CHAIN: '', LIENTHONG_PUSH_SERVER_CA: '', LIENTHONG_TRUST_DIR: '' })
  t.equal(c.port, 8080)
  t.equal(c.trustDir, demo('trust'))
  t.equal(c.hubChainFile, undefined, 'LIENTHONG_HUB_CHAIN= : no chain')
  t.equal(c.delivery.serverCaFile, undefined, "LIENTHONG_PUSH_SERVER_CA= : Node's default CAs")
})

t.test('a wrong value fails fast with a sentence naming the key', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ LIENTHONG_PORT: '70000' }, /LIENTHONG_PORT=70000: must be an integer between 0 and 65535/],
    [{ LIENTHONG_PORT: 'eighty' }, /LIENTHONG_PORT=eighty: must be an integer between 0 and 65535/],
    [{ LIENTHONG_RETRY_BASE_MS: '1.5' }, /LIENTHONG_RETRY_BASE_MS=1.5: must be an integer between 10 and 3600000/],
    [{ LIENTHONG_VERIFY_THREADS: '0' }, /LIENTHONG_VERIFY_THREADS=0: must be an integer between 1 and 256/],
    [{ LIENTHONG_HOP_LIMIT: '0' }, /LIENTHONG_HOP_LIMIT=0: must be an integer between 1 and 64/],
    [{ LIENTHONG_REVOCATION: 'maybe' }, /LIENTHONG_REVOCATION=maybe: must be "require" or "best-effort"/],
    [{ LIENTHONG_LOG_LEVEL: 'loud' }, /LIENTHONG_LOG_LEVEL=loud: must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ LIENTHONG_DEMO: 'yes' }, /LIENTHONG_DEMO=yes: must be 1 \(true\) or 0 \(false\)/],
    [{ LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: 'sure' }, /LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: "sure" is not true, 1, false, 0 or empty/],
    [{ REDIS_URL: 'http://r:6379' }, /REDIS_URL=http:\/\/r:6379: must start with redis:\/\/ or rediss:\/\//],
    [{ LIENTHONG_CRL_URLS: 'https://ok.example/a.crl,ftp://x/y.crl' }, /LIENTHONG_CRL_URLS: "ftp:\/\/x\/y.crl" is not an http\(s\) URL/],
    [{ LIENTHONG_TLS_KEY: 'k.pem' }, /LIENTHONG_TLS_KEY and LIENTHONG_TLS_CERT must be set together/],
    [{ LIENTHONG_MAX_BYTES: '4096', LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL: '2048' }, /LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL=2048: must be at least LIENTHONG_MAX_BYTES \(4096\)/]
  ]
  for (const [env, message] of cases) t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
})

t.test('secrets are never echoed in a message', async (t) => {
  const err = t.throws(() => loadConfig({ DATABASE_URL: 'mysql://u:hunter2@db/x' })) as ConfigError
  t.match(err.message, /DATABASE_URL: must start with postgres:\/\/ or postgresql:\/\//)
  t.notMatch(err.message, /hunter2/)
})

t.test('all wrong keys are reported at once', async (t) => {
  const err = t.throws(() => loadConfig({ LIENTHONG_PORT: '-1', LIENTHONG_LOG_LEVEL: 'x', LIENTHONG_DEMO: '2' })) as ConfigError
  t.equal(err.problems.length, 3)
  t.match(err.problems, [/LIENTHONG_PORT/, /LIENTHONG_DEMO/, /LIENTHONG_LOG_LEVEL/])
})

t.test('one key read alone (the push settings) agrees with the whole configuration', async (t) => {
  t.same(readEnvKey('LIENTHONG_DEV_ALLOW_HTTP_PUSH', { LIENTHONG_DEV_ALLOW_HTTP_PUSH: '1' }), { value: true, problems: [] })
  t.same(pushSettingsFromEnv({ LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: 'true' }), loadConfig({ LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: 'true' }).delivery.push)
  t.throws(() => readEnvKey('LIENTHONG_TRUST_DIR', {}), /its default lies in the package/, 'a package default cannot be resolved without the package root')
})
