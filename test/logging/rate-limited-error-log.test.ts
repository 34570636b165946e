import { createServer } from 'node:net'
import pg from 'pg'
import t from 'tap'
import { rateLimitedErrorLog, setProcessErrorLogger, type WarnLogger } from '../../src/logging/rate-limited-error-log.js'
import { openPostgres } from '../../src/db/postgres-database.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { TEST_DATABASE_URL } from '../helpers/database.js'
import { waitUntil } from '../helpers/hub-process.js'

// Errors that used to be swallowed (`.on('error', () => {})`) are logged now, rate-limited: the
// first at once, then at most one line per interval saying how many were left out.

interface Line { obj: { err?: unknown, suppressed?: number }, msg: string }
function capture (): { logger: WarnLogger, lines: Line[] } {
  const lines: Line[] = []
  return { lines, logger: { warn: (obj, msg) => { lines.push({ obj, msg }) } } }
}

t.test('the first error at once, then one line per interval with the count left out', async (t) => {
  const { logger, lines } = capture()
  let clock = 0
  const report = rateLimitedErrorLog('Redis', { logger, intervalMs: 30_000, now: () => clock })
  // [time of the error, lines logged after it]
  const steps: Array<[number, number]> = [[0, 1], [1_000, 1], [29_999, 1], [30_000, 2], [30_001, 2], [100_000, 3]]
  for (const [at, expected] of steps) {
    clock = at
    report(new Error(`refused at ${at}`))
    t.equal(lines.length, expected, `after the error at ${at} ms`)
  }
  t.same(lines.map((l) => l.msg), ['Redis: refused at 0', 'Redis: refused at 30000 (2 more since the last line)', 'Redis: refused at 100000 (1 more since the last line)'])
  t.same(lines.map((l) => l.obj.suppressed), [0, 2, 1])
  t.ok(lines[0]?.obj.err instanceof Error, 'the error itself is in the line (pino serializes it)')
})

t.test('errors without a message are named by code, and non-errors as text', async (t) => {
  const { logger, lines } = capture()
  const cases: Array<[unknown, string]> = [
    [Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' }), 'x: ECONNREFUSED'],
    [new AggregateError([], ''), 'x: AggregateError'],
    ['plain text', 'x: plain text']
  ]
  for (const [err, msg] of cases) {
    rateLimitedErrorLog('x', { logger })(err)
    t.equal(lines.at(-1)?.msg, msg)
  }
})

/** A port nothing listens on. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

t.test('a delivery queue whose Redis is down says so once, not per reconnection', async (t) => {
  const { logger, lines } = capture()
  setProcessErrorLogger(logger)
  t.teardown(() => setProcessErrorLogger(undefined))
  const queue = new DeliveryQueue(`redis://127.0.0.1:${await closedPort()}`, '{lt-rate-limited}')
  t.teardown(async () => { await queue.close() })
  let errors = 0
  queue.queue.on('error', () => { errors++ })
  await waitUntil('three connection errors', () => errors >= 3, 20_000)
  t.equal(lines.length, 1, `one line for ${errors} errors`)
  t.match(lines[0]?.msg, /^delivery queue: Redis: .*ECONNREFUSED/)
})

t.test('the PostgreSQL pool logs an idle connection that the server ends', async (t) => {
  const { logger, lines } = capture()
  setProcessErrorLogger(logger)
  t.teardown(() => setProcessErrorLogger(undefined))
  const db = await openPostgres({ connectionString: TEST_DATABASE_URL, max: 1 })
  t.teardown(async () => { await db.close() })
  const [row] = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  t.teardown(async () => { await admin.end() })
  await admin.query('SELECT pg_terminate_backend($1)', [row?.pid])
  await waitUntil('the pool to report the ended connection', () => lines.length > 0, 20_000)
  t.match(lines[0]?.msg, /^PostgreSQL: an idle connection failed: terminating connection due to administrator command/)
  t.same((await db.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }], 'the next query reconnects')
})
