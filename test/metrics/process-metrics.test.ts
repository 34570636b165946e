import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/config.js'
import type { Queryable } from '../../src/db/database.js'
import { startHub } from '../../src/hub/start-hub.js'
import { createApiKey } from '../../src/store/credentials.js'
import { CLI, untracked } from '../helpers/cli.js'
import { testDatabase, type TestPostgres } from '../helpers/database.js'
import { FIXTURES, ROOT } from '../helpers/example-pki.js'
import { REDIS_URL, testHub } from '../helpers/hub.js'
import { recipientServer } from '../helpers/recipient-server.js'
import { parseExposition, value, type Exposition } from './exposition.js'

// The wiring of the real entry points: `lienthong worker` serves its own /metrics when
// LIENTHONG_WORKER_METRICS_PORT is set, and in `lienthong start` the in-process worker counts into
// the gateway's /metrics (one registry per process).

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
/** From G22 to H29 (push) and G12, H41 (pull). */
const VALID = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-c14n-rsa-sha512-many-recipients.edxml'))

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor (what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

function databaseUrlOf (db: TestPostgres): string {
  const separator = db.connectionString.includes('?') ? '&' : '?'
  return `${db.connectionString}${separator}options=${encodeURIComponent(`-c search_path=${db.schema}`)}`
}

/** The environment an operator would give, without tap's loaders or this machine's LIENTHONG_ keys. */
function cleanEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.DATABASE_URL
  for (const key of Object.keys(env)) if (key.startsWith('LIENTHONG_')) delete env[key]
  // The demo key material of certs-example/ (serve/worker refuse it without LIENTHONG_DEMO=1).
  return { ...env, LIENTHONG_DEMO: '1', ...extra }
}

async function deliveredTo (db: Queryable, code: string): Promise<boolean> {
  const { rows } = await db.query<{ state: string }>('SELECT state FROM deliveries WHERE recipient_code = $1', [code])
  return rows.length === 1 && rows[0]?.state === 'delivered'
}

async function scrape (url: string, token?: string): Promise<Exposition> {
  const res = await fetch(url, token != null ? { headers: { authorization: `Bearer ${token}` } } : {})
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return parseExposition(await res.text())
}

t.test('lienthong worker with LIENTHONG_WORKER_METRICS_PORT serves its delivery metrics', async (t: Test) => {
  const db = await testDatabase(t)
  const { app, queue, keys } = await testHub(t, { db })
  const recipient = await recipientServer(t)
  await db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [recipient.url, H29])
  const child = spawn(...untracked(process.execPath, [CLI, 'worker']), {
    cwd: ROOT,
    env: cleanEnv({
      DATABASE_URL: databaseUrlOf(db),
      REDIS_URL,
      LIENTHONG_QUEUE_PREFIX: queue!.queue.opts.prefix as string,
      LIENTHONG_LOG_LEVEL: 'warn',
      LIENTHONG_WORKER_METRICS_PORT: '0',
      LIENTHONG_METRICS_TOKEN: 'worker-scrape'
    }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.teardown(async () => { if (child.exitCode == null && child.signalCode == null) { child.kill('SIGKILL'); await exited } })

  await waitFor('the worker to print its metrics URL', () => /metrics on \S+/.test(stdout) || child.exitCode != null)
  const url = /metrics on (\S+)/.exec(stdout)?.[1]
  t.ok(url, `metrics URL printed (stderr: ${stderr.slice(0, 300)})`)
  t.equal((await fetch(url!)).status, 401, 'the token is required')

  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${keys[G22]!}` }, payload: VALID })
  t.equal(res.statusCode, 202)
  await waitFor('the push delivery', async () => await deliveredTo(db, H29))
  let metrics = await scrape(url!, 'worker-scrape')
  await waitFor('the latency observation', async () => {
    metrics = await scrape(url!, 'worker-scrape')
    return value(metrics, 'lienthong_delivery_latency_seconds_count', { mode: 'push' }) === 1
  })
  t.equal(value(metrics, 'lienthong_delivery_attempts_total', { outcome: 'delivered', mode: 'push' }), 1, 'one push delivered, counted by the worker process')
  t.equal(value(metrics, 'lienthong_delivery_attempts_total', { outcome: 'retry', mode: 'push' }), 0)
  t.ok((value(metrics, 'process_resident_memory_bytes') ?? 0) > 0, 'the worker process\'s own process metrics')

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'stops cleanly on SIGTERM (the metrics listener closes too)')
})

t.test('lienthong start: the in-process worker counts into the gateway\'s /metrics', async (t: Test) => {
  const db = await testDatabase(t)
  const recipient = await recipientServer(t)
  const config = loadConfig({
    DATABASE_URL: databaseUrlOf(db),
    REDIS_URL,
    LIENTHONG_PORT: '0',
    LIENTHONG_QUEUE_PREFIX: `{lt-metrics-start-${process.pid}-${randomBytes(3).toString('hex')}}`,
    LIENTHONG_VERIFY_THREADS: '1',
    LIENTHONG_LOG_LEVEL: 'silent',
    LIENTHONG_METRICS_TOKEN: 'start-scrape'
  })
  const hub = await startHub(config, { role: 'start' })
  t.teardown(async () => {
    await hub.queue.queue.obliterate({ force: true }).catch(() => {})
    await hub.close()
  })
  await db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [recipient.url, H29])
  const { key } = await createApiKey(db, G22, 'metrics test')

  const res = await fetch(`${hub.url}/v1/documents`, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, body: VALID })
  t.equal(res.status, 202)
  await waitFor('the push delivery', async () => await deliveredTo(db, H29))
  let metrics = await scrape(`${hub.url}/metrics`, 'start-scrape')
  await waitFor('the latency observation', async () => {
    metrics = await scrape(`${hub.url}/metrics`, 'start-scrape')
    return value(metrics, 'lienthong_delivery_latency_seconds_count', { mode: 'push' }) === 1
  })
  t.equal(value(metrics, 'lienthong_documents_accepted_total', { kind: 'document' }), 1, 'the gateway counted the acceptance')
  t.equal(value(metrics, 'lienthong_delivery_attempts_total', { outcome: 'delivered', mode: 'push' }), 1, 'and the in-process worker the delivery, on the same /metrics')
  t.equal(value(metrics, 'lienthong_verification_pool_threads'), 1, 'the verification pool of this process')
  t.equal(value(metrics, 'lienthong_queue_workers', { queue: 'deliveries' }), 1, 'one worker connected')
  t.equal(value(metrics, 'lienthong_deliveries', { state: 'available', mode: 'pull' }), 2, 'G12 and H41 have it in their inboxes')
  t.equal(value(metrics, 'lienthong_readiness_check', { check: 'database' }), 1)
})
