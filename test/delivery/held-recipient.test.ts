import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { startDeliveryWorker } from '../../src/delivery/delivery-worker.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { REDIS_URL, testHub } from '../helpers/hub.js'
import { recipientServer, WORKER_TLS } from '../helpers/recipient-server.js'

// A dead recipient with its probe in flight (issue 15 leftover): its other jobs must not be
// fetched from Redis again and again while the probe runs, and must go out at once when it is
// back. Counted in job fetches (the worker's `active` events) against POSTs the recipient saw.

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const DOCUMENTS = 8
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor (what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(25)
  }
}

async function submit (app: FastifyInstance, key: string, bytes: Buffer): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, payload: bytes })
  if (res.statusCode !== 202) throw new Error(`submission refused: ${res.statusCode} ${res.body}`)
}

t.test('a held recipient costs no fetches per job while its probe runs, and gets everything at once when back', async (t) => {
  const hub = await testHub(t)
  const server = await recipientServer(t, { behaviour: { kind: 'hanging' } })
  await hub.db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [server.url, H29])
  const prefix = (hub.queue?.queue.opts as { prefix?: string } | undefined)?.prefix
  if (prefix == null) throw new Error('the test hub has no queue prefix')
  const problems: string[] = []
  const worker = startDeliveryWorker({
    db: hub.db,
    hub: hub.context.hub,
    redisUrl: REDIS_URL,
    prefix,
    concurrency: 8,
    perRecipient: 2,
    timeoutMs: 1500,
    retry: { baseDelayMs: 100, maxDelayMs: 400, windowMs: 10 * 60_000 },
    tls: WORKER_TLS,
    // Far longer than the test: a parked job goes out only because the recipient answered.
    heldParkMs: 10 * 60_000,
    onError: (err) => problems.push(`worker error: ${String(err)}`)
  })
  let fetches = 0
  worker.worker.on('active', () => { fetches++ })
  worker.worker.on('failed', (job, err) => problems.push(`job ${job?.id ?? '?'} failed: ${err.message}`))
  t.teardown(async () => { await worker.close(5000) })

  for (let i = 0; i < DOCUMENTS; i++) await submit(hub.app, hub.keys[G22] ?? '', documentFromTo(G22, H29, 7700 + i))
  const attempted = async (): Promise<number> => Number((await hub.db.query<{ n: string }>('SELECT count(*) AS n FROM deliveries WHERE recipient_code = $1 AND attempts > 0', [H29])).rows[0]?.n)

  // Held: the first attempts timed out (the recipient is failing) and a probe is in flight.
  await waitFor('the first timeouts', async () => await attempted() > 0, 20_000)
  const fetchesAtHold = fetches
  const postsAtHold = server.requests.length
  // Four more probes (each one POST of at most 1.5 s): long enough for the jobs to have been
  // fetched dozens of times each at the old 250-750 ms postponement.
  await waitFor('four more probes', () => server.requests.length >= postsAtHold + 4, 30_000)
  const heldFetches = fetches - fetchesAtHold
  const heldPosts = server.requests.length - postsAtHold
  t.comment(`while held: ${heldFetches} job fetches for ${heldPosts} POSTs (${DOCUMENTS} jobs)`)
  // Each POST is one fetch; each other job is parked once (its one fetch after the hold began),
  // plus the few that were already postponed for a busy (not yet failing) recipient.
  t.ok(heldFetches <= heldPosts + 2 * DOCUMENTS, `job fetches while held (${heldFetches}) stay within POSTs (${heldPosts}) + one park per job, not one per 0.5 s per job`)
  t.ok(server.maxOpen <= 2, `at most perRecipient POSTs at once (${server.maxOpen})`)

  // Back: the next probe succeeds and every parked job goes at once (their rest is 10 minutes).
  server.setBehaviour({ kind: 'healthy' })
  const fetchesAtRecovery = fetches
  await waitFor('every delivery delivered', async () => Number((await hub.db.query<{ n: string }>('SELECT count(*) AS n FROM deliveries WHERE recipient_code = $1 AND state = \'delivered\'', [H29])).rows[0]?.n) === DOCUMENTS, 60_000)
  t.equal(server.applied.size, DOCUMENTS, 'each document applied once at the recipient')
  t.comment(`after recovery: ${fetches - fetchesAtRecovery} job fetches for ${DOCUMENTS} deliveries`)
  t.ok(fetches - fetchesAtRecovery <= 4 * DOCUMENTS, `recovery costs a few fetches per job (${fetches - fetchesAtRecovery})`)
  t.same(problems, [], 'no infrastructure errors')
})
