import t from 'tap'
import { createApiKey } from '../../src/store/credentials.js'
import { testDatabase } from '../helpers/database.js'
import { databaseUrlOf, lienthongEnv, spawnLienthong, startLienthong, waitUntil, type LienthongCommand } from '../helpers/hub-process.js'
import { SENDER, signedDocument } from '../helpers/ops-fixtures.js'
import { freePort, PrivateRedis } from '../helpers/redis-server.js'

// What an operator sees when a dependency is missing or goes away: readiness that follows Redis
// (and never hangs on it), and one clear line at start naming what is missing, where, and how to
// start it.

interface Check { status: 'ok' | 'fail', detail?: string, durationMs: number }
interface Readiness { status: number, body: { status: string, checks: Record<string, Check> } }

async function readiness (url: string): Promise<Readiness> {
  // Bounded: a readiness probe that hangs is the failure this guards against.
  // As the operator (the token shows each check's detail).
  const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5000), headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } })
  return { status: res.status, body: await res.json() as Readiness['body'] }
}

/** A port nothing listens on (it was free a moment ago). */
const closedPort = freePort

const OPERATOR_TOKEN = 'ops-readiness-token'

const baseSettings = (dataDir: string): Record<string, string> => ({
  LIENTHONG_METRICS_TOKEN: OPERATOR_TOKEN,
  LIENTHONG_PORT: '0',
  LIENTHONG_VERIFY_THREADS: '1',
  LIENTHONG_LOG_LEVEL: 'warn',
  LIENTHONG_DATA_DIR: dataDir,
  LIENTHONG_QUEUE_PREFIX: `{lt-ready-${process.pid}}`
})

t.test('readiness follows Redis: 503 naming it while it is down, 200 when it is back', async (t) => {
  const db = await testDatabase(t)
  const redis = await PrivateRedis.create()
  await redis.start()
  t.teardown(async () => { await redis.stop() })
  const gateway = await startLienthong(t, 'serve', lienthongEnv({ ...baseSettings(t.testdir()), DATABASE_URL: databaseUrlOf(db), REDIS_URL: redis.url }))

  const up = await readiness(gateway.url)
  t.equal(up.status, 200, 'ready while every dependency is up', { body: up.body })
  for (const name of ['database', 'redis', 'hubCertificate', 'revocationData']) t.ok(up.body.checks[name], `a check of its own: ${name}`)
  t.ok(Object.values(up.body.checks).every((c) => c.status === 'ok' && Number.isInteger(c.durationMs)), 'all ok, each with its duration')

  await redis.stop()
  await waitUntil('readiness to report Redis down', async () => (await readiness(gateway.url)).status === 503, 10_000)
  const down = await readiness(gateway.url)
  t.equal(down.body.status, 'not-ready', 'not ready', { body: down.body })
  t.equal(down.body.checks.redis?.status, 'fail', 'Redis is the failing check')
  t.not(down.body.checks.redis?.detail, 'timed out', 'it fails at once, not by the 2 s timeout (no command waits in an offline queue)')
  t.ok(Number.isInteger(down.body.checks.redis?.durationMs), 'with its duration')
  for (const [name, check] of Object.entries(down.body.checks).filter(([name]) => name !== 'redis')) {
    t.match(check, { status: 'ok', durationMs: Number }, `${name} still ok`)
  }
  t.equal((await fetch(`${gateway.url}/health/live`)).status, 200, 'the process itself is alive')

  await redis.start()
  await waitUntil('readiness to be back to 200', async () => (await readiness(gateway.url)).status === 200, 15_000)
  t.equal((await readiness(gateway.url)).body.checks.redis?.status, 'ok', 'Redis ok again')
  t.same(await gateway.stop('SIGTERM', 40_000), { code: 0, signal: null }, 'stops cleanly')
})

// Passwords in the URLs must never be printed; the messages show where, masked.
const SECRET = 's3cret-do-not-print'

interface StartupCase {
  name: string
  command: LienthongCommand
  /** What is unreachable, given a port nothing listens on and a working PostgreSQL URL. */
  settings: (port: number, databaseUrl: string) => Record<string, string>
  /** Exits with this code, or (undefined) starts anyway. */
  exitCode: number | undefined
  /** The one line that tells the operator, and what it must say. */
  line: RegExp
  mentions: (port: number) => RegExp[]
}

const startupCases: StartupCase[] = [
  {
    name: 'lienthong serve, PostgreSQL unreachable: exit 2',
    command: 'serve',
    settings: (port) => ({ DATABASE_URL: `postgres://hub:${SECRET}@127.0.0.1:${port}/lienthong` }),
    exitCode: 2,
    line: /PostgreSQL/,
    mentions: (port) => [/^lienthong: /, /PostgreSQL/, new RegExp(`postgres://hub:\\*\\*\\*@127\\.0\\.0\\.1:${port}/lienthong`), /ECONNREFUSED/, /Start it \(e\.g\. `systemctl start postgresql`/]
  },
  {
    name: 'lienthong worker, PostgreSQL unreachable: exit 2',
    command: 'worker',
    settings: (port) => ({ DATABASE_URL: `postgres://hub:${SECRET}@127.0.0.1:${port}/lienthong` }),
    exitCode: 2,
    line: /PostgreSQL/,
    mentions: (port) => [/^lienthong: /, /PostgreSQL/, new RegExp(`postgres://hub:\\*\\*\\*@127\\.0\\.0\\.1:${port}/lienthong`), /Start it/]
  },
  {
    name: 'lienthong serve, Redis unreachable: starts, warns, accepts documents',
    command: 'serve',
    settings: (port, databaseUrl) => ({ DATABASE_URL: databaseUrl, REDIS_URL: `redis://:${SECRET}@127.0.0.1:${port}` }),
    exitCode: undefined,
    line: /Redis is not reachable/,
    mentions: (port) => [/Redis/, new RegExp(`redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`), /still accepted/, new RegExp(`Start it \\(e\\.g\\. \`redis-server --daemonize yes --bind 127\\.0\\.0\\.1 --port ${port}\``)]
  },
  {
    name: 'lienthong worker, Redis unreachable: starts, says so on stderr',
    command: 'worker',
    settings: (port, databaseUrl) => ({ DATABASE_URL: databaseUrl, REDIS_URL: `redis://:${SECRET}@127.0.0.1:${port}` }),
    exitCode: undefined,
    line: /Redis is not reachable/,
    mentions: (port) => [/^lienthong worker: /, new RegExp(`redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`), /consumes them once it is back/, /Start it/]
  }
]

for (const c of startupCases) {
  t.test(c.name, async (t) => {
    const db = await testDatabase(t)
    const port = await closedPort()
    const env = lienthongEnv({ ...baseSettings(t.testdir()), ...c.settings(port, databaseUrlOf(db)) })
    const proc = spawnLienthong(t, c.command, env)
    let output: () => string
    if (c.exitCode != null) {
      t.same(await proc.waitForExit(60_000), { code: c.exitCode, signal: null }, `exits ${c.exitCode}`)
      const lines = proc.stderr.trim().split('\n')
      t.equal(lines.length, 1, `one line on stderr: ${proc.stderr}`)
      t.equal(proc.stdout, '', 'nothing on stdout')
      output = () => proc.stderr
    } else {
      await proc.ready(60_000)
      t.pass('it starts anyway')
      output = () => (c.command === 'worker' ? proc.stderr : proc.stdout)
    }
    const line = output().split('\n').find((l) => c.line.test(l)) ?? ''
    // Log lines are JSON (pino); the operator reads their msg.
    const message = line.startsWith('{') ? (JSON.parse(line) as { msg: string }).msg : line
    for (const pattern of c.mentions(port)) t.match(message, pattern, `the line says ${pattern}`)
    t.notMatch(proc.stdout + proc.stderr, SECRET, 'the password is not printed')
    t.notMatch(proc.stderr, /\n\s+at /, 'no stack trace')
    if (c.exitCode != null) return
    if (c.command === 'worker') {
      t.same(await proc.stop('SIGTERM', 40_000), { code: 0, signal: null }, 'stops cleanly without ever reaching Redis')
      return
    }

    // Documents are still accepted and stored (queued once Redis is back); readiness says why not ready.
    const { key } = await createApiKey(db, SENDER, 'redis-down test')
    const doc = signedDocument(73_000)
    const res = await fetch(`${proc.url}/v1/documents`, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, body: doc.bytes })
    t.equal(res.status, 202, 'a document is accepted while Redis is unreachable')
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries d JOIN documents o ON o.id = d.document_id WHERE o.digest_sha256 = $1 AND NOT d.enqueued', [doc.sha256])
    t.equal(rows[0]?.n, 1, 'its push delivery is stored, waiting to be enqueued')
    const ready = await readiness(proc.url)
    t.equal(ready.status, 503, 'not ready', { body: ready.body })
    t.equal(ready.body.checks.redis?.status, 'fail', 'readiness names Redis')
    t.same(await proc.stop('SIGTERM', 40_000), { code: 0, signal: null }, 'stops cleanly without ever reaching Redis')
  })
}
