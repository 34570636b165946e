import t, { type Test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { CLI, childEnv, untracked } from '../helpers/cli.js'
import { testDatabase } from '../helpers/database.js'
import { PKI, ROOT } from '../helpers/example-pki.js'

// `lienthong demo` as a newcomer runs it: a real hub process (`lienthong start`, real Redis), the
// demo as a second process with its push recipient on the registry's port 9441. The cases run one
// after the other (tap runs a file's subtests in order): each demo binds 9441, and no other test
// file does. The first hub runs on PostgreSQL (a fresh schema), the quick-start check's on embedded
// PGlite as `npm start` does.

// Three hub processes: on a loaded machine that can be more than the default 120 s; idle, well
// under a minute.
t.setTimeout(300_000)

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H41 = '000.00.00.H41'

interface Run { code: number | null, stdout: string, stderr: string }

/** The compiled CLI, in the repository root, with `env` over the test's environment. */
function lienthong (args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(...untracked(process.execPath, [CLI, ...args]), { cwd: ROOT, env: childEnv(env), encoding: 'utf8', timeout: 100_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * `lienthong start` (or `serve`) on a free port, a fresh data directory and a fresh PostgreSQL
 * schema (quicker to start than PGlite); stopped (SIGTERM) before the schema is dropped.
 */
async function startHub (t: Test, role: 'start' | 'serve' = 'start'): Promise<{ url: string, dataDir: string, log: () => string, stop: () => Promise<void> }> {
  const dataDir = t.testdir()
  const db = await testDatabase(t)
  const prefix = `{lt-demo-${process.pid}-${role}}`
  const child = spawn(...untracked(process.execPath, [CLI, role]), {
    cwd: ROOT,
    env: {
      ...childEnv(),
      LIENTHONG_PORT: '0',
      LIENTHONG_DATA_DIR: dataDir,
      LIENTHONG_QUEUE_PREFIX: prefix,
      LIENTHONG_LOG_LEVEL: 'warn',
      LIENTHONG_VERIFY_THREADS: '1',
      // On PostgreSQL with the demo key material of certs-example/: a demo, said so.
      LIENTHONG_DEMO: '1',
      DATABASE_URL: `${db.connectionString}${db.connectionString.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.schema}`)}`
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
  t.teardown(async () => {
    await stop()
    // The hub's queue keys, left in the shared Redis otherwise (the one the hub used: REDIS_URL).
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
    try {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
    } finally {
      redis.disconnect()
    }
  })
  for (let i = 0; i < 900 && !/demo-api-keys\.json/.test(output) && child.exitCode == null; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const url = /listening on (\S+)/.exec(output)?.[1]
  if (url == null || !/demo-api-keys\.json/.test(output)) throw new Error(`the hub did not start: ${output.slice(0, 2000)}`)
  return { url, dataDir, log: () => output, stop }
}

t.test('lienthong demo: a document delivered by push and by pull, status 03 back from each, receipts verified', async (t) => {
  const hub = await startHub(t)
  const run = await lienthong(['demo', '--hub', hub.url, '--data-dir', hub.dataDir])
  t.equal(run.code, 0, `exit 0\n${run.stdout}${run.stderr}\n--- hub:\n${hub.log()}`)
  t.equal(run.stderr, '', 'nothing on stderr')
  const lines = [
    `✓ hub is up at ${hub.url}`,
    `✓ ${G22} Văn phòng Chính phủ: receives by push at https://127.0.0.1:9441/edxml`,
    `✓ ${G12} Bộ Tài chính: receives by pull`,
    `✓ ${H41} Ủy ban nhân dân tỉnh Nghệ An: signed document ${H41},`,
    '✓ accepted by the hub: document ',
    `✓ delivered to ${G22} by push (HTTPS POST with the hub's client certificate, answered 200); delivery receipt verified`,
    `✓ delivered to ${G12} by pull (downloaded from its inbox, bytes unchanged, acknowledged); delivery receipt verified`,
    `✓ status 03 from ${G22} back at ${H41}`,
    `✓ status 03 from ${G12} back at ${H41}`,
    '✓ all 5 receipts verified: signed by the hub',
    'was delivered both ways in',
    `the API reference (OpenAPI)    ${hub.url}/openapi.json`
  ]
  for (const line of lines) t.ok(run.stdout.includes(line), `prints "${line}"`)
  t.notOk(run.stdout.includes('✗'), 'no step failed')

  // What the hub itself recorded, asked as the sender.
  const id = /accepted by the hub: document ([0-9a-f-]{36})/.exec(run.stdout)?.[1]
  if (id == null) return t.fail('no document id printed')
  t.ok(run.stdout.includes(`${hub.url}/v1/documents/${id}`), 'the document URL is shown')
  const key = (JSON.parse(readFileSync(join(hub.dataDir, 'demo-api-keys.json'), 'utf8')) as Record<string, string>)[H41]
  const res = await fetch(`${hub.url}/v1/documents/${id}`, { headers: { authorization: `Bearer ${key}` } })
  t.equal(res.status, 200)
  const view = await res.json() as { sender: string, deliveries: Array<{ recipient: string, mode: string, state: string }>, statusEvents: Array<{ recipient: string, statusCode: string }> }
  t.equal(view.sender, H41)
  t.same(view.deliveries.map((d) => [d.recipient, d.mode, d.state]).sort(), [[G12, 'pull', 'acknowledged'], [G22, 'push', 'delivered']], 'delivered to both, one way each')
  t.same(view.statusEvents.map((e) => [e.recipient, e.statusCode]).sort(), [[G12, '03'], [G22, '03']], 'status 03 from each recipient on the document')

  // The saved receipts pass the offline check, in a separate process; meanwhile a demo that pins
  // another certificate as the hub's refuses the very first receipt and says so (exit 1).
  const dir = join(hub.dataDir, 'demo-receipts', id)
  const files = readdirSync(dir).sort()
  t.same(files, ['acceptance.xml', `delivery-${G12}.xml`, `delivery-${G22}.xml`, `status-${G12}-acceptance.xml`, `status-${G22}-acceptance.xml`])
  const [verified, pinned] = await Promise.all([
    lienthong(['receipt', 'verify', ...files.map((f) => join(dir, f))]),
    lienthong(['demo', '--hub', hub.url, '--data-dir', hub.dataDir], { LIENTHONG_HUB_CERT: join(PKI, 'agencies', G22, 'cert.pem') })
  ])
  t.equal(verified.code, 0, verified.stdout + verified.stderr)
  t.equal(verified.stdout.match(/: VALID (acceptance|delivery) receipt/g)?.length, 5, 'all five VALID')
  t.equal(pinned.code, 1, `exit 1 when a step fails\n${pinned.stdout}${pinned.stderr}`)
  t.match(pinned.stdout, /\n {2}✗ the acceptance receipt does not verify: SIGNER_NOT_HUB /, 'names what went wrong')
  t.notOk(pinned.stdout.includes('✓ accepted by the hub'), 'and claims nothing after it')
  t.notMatch(pinned.stdout + pinned.stderr, /\n\s+at /, 'no stack trace')
  // Stopped here, before the teardown drops its schema.
  await hub.stop()
})

t.test('a step that does not happen: exit 1, the step named, the delivery states shown', async (t) => {
  // `lienthong serve` is the gateway without a delivery worker: the pull side completes, the push
  // never leaves the queue.
  const hub = await startHub(t, 'serve')
  const run = await lienthong(['demo', '--hub', hub.url, '--data-dir', hub.dataDir, '--timeout', '8'])
  t.equal(run.code, 1, run.stdout + run.stderr)
  t.ok(run.stdout.includes(`✓ delivered to ${G12} by pull`), 'the pull recipient got it')
  t.ok(run.stdout.includes(`✓ status 03 from ${G12} back at ${H41}`), 'and answered')
  t.ok(run.stdout.includes(`  ✗ delivered to ${G22} by push did not happen within 8 s\n      delivery to ${G12} (pull): acknowledged\n      delivery to ${G22} (push): queued\n`), 'the missing step and where each delivery is')
  t.ok(run.stdout.includes('is a delivery worker running?'), 'with the likely cause')
  t.notOk(run.stdout.includes('delivered both ways'), 'no success claimed')
  t.notMatch(run.stdout + run.stderr, /\n\s+at /, 'no stack trace')
  await hub.stop()
})

t.test('lienthong demo without a running hub: one clear message, exit 2', async (t) => {
  const port = await freePort()
  const run = await lienthong(['demo', '--hub', `http://127.0.0.1:${port}`, '--data-dir', t.testdir()])
  t.equal(run.code, 2, run.stdout + run.stderr)
  t.equal(run.stderr, `lienthong: the hub does not answer at http://127.0.0.1:${port} (ECONNREFUSED): start the hub first with \`npm start\` (in another terminal, from the same directory)\n`)
  t.notMatch(run.stdout, /✓/, 'no step claimed')
})

t.test('the README quick start on this checkout: npm start, then npx lienthong demo (scripts/quick-start-check.sh)', async (t) => {
  const run = await new Promise<Run>((resolve) => {
    execFile(...untracked('bash', [join(ROOT, 'scripts', 'quick-start-check.sh')]), { cwd: ROOT, env: childEnv(), encoding: 'utf8', timeout: 110_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
  t.equal(run.code, 0, run.stdout + run.stderr)
  t.match(run.stdout, /\nquick start: OK\n$/)
  t.match(run.stdout, /✓ delivered to 000\.00\.00\.G22 by push/)
  t.match(run.stdout, /✓ delivered to 000\.00\.00\.G12 by pull/)
})
