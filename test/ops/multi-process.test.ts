import t from 'tap'
import { randomBytes } from 'node:crypto'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { createApiKey } from '../../src/store/credentials.js'
import { testDatabase } from '../helpers/database.js'
import { REDIS_URL } from '../helpers/hub.js'
import { lienthongEnv, opsHubSettings, startLienthong, waitUntil } from '../helpers/hub-process.js'
import { PUSH_RECIPIENT, SENDER, registryWithPushUrls, signedDocuments, type SignedDocument } from '../helpers/ops-fixtures.js'
import { recipientServer } from '../helpers/recipient-server.js'

// The multi-node shape of architecture.md: two gateways and two workers, one PostgreSQL, one
// Redis, all separate processes. Documents go in through both gateways at once; every one must be
// stored once, delivered once, and the signature log (appended by both gateways) must stay one
// intact chain.

const DOCUMENTS = 40
const CLIENTS = 4

interface Accepted { id: string, signatureLogEntry: number, recipients: Array<{ code: string, deliveryId?: string, mode?: string }> }

t.test('two gateways and two workers share one database and one queue', async (t) => {
  const db = await testDatabase(t)
  const prefix = `{lt-multi-${process.pid}-${randomBytes(3).toString('hex')}}`
  const queue = new DeliveryQueue(REDIS_URL, prefix)
  t.teardown(async () => {
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  })
  // Slow enough that one worker cannot take every delivery before the other asks for one.
  const recipient = await recipientServer(t, { behaviour: { kind: 'slow', delayMs: 200 } })
  const dir = t.testdir()
  const registryFile = registryWithPushUrls(dir, { [PUSH_RECIPIENT]: recipient.url })
  // The API key must exist before the first POST; agencies first (the key references one).
  await syncAgencies(db, await AgencyRegistry.load(registryFile))
  const { key } = await createApiKey(db, SENDER, 'multi-process test')

  const env = lienthongEnv(opsHubSettings({ db, redisUrl: REDIS_URL, prefix, registryFile, dir }, { LIENTHONG_RETRY_BASE_MS: '100' }))
  const documents = signedDocuments(71_000, DOCUMENTS)
  const [gatewayA, gatewayB, workerA, workerB] = await Promise.all([
    startLienthong(t, 'serve', env),
    startLienthong(t, 'serve', env),
    startLienthong(t, 'worker', env),
    startLienthong(t, 'worker', env)
  ])
  const gateways = [gatewayA, gatewayB]

  // CLIENTS concurrent senders; document i goes to gateway i % 2.
  const answers = new Map<number, { status: number, body: Accepted | string }>()
  let next = 0
  const post = async (doc: SignedDocument, gateway: string): Promise<void> => {
    const res = await fetch(`${gateway}/v1/documents`, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, body: doc.bytes })
    const text = await res.text()
    answers.set(doc.n, { status: res.status, body: res.status === 202 ? JSON.parse(text) as Accepted : text })
  }
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < documents.length) {
      const i = next++
      await post(documents[i] as SignedDocument, (gateways[i % 2] as { url: string }).url)
    }
  }))
  const refused = [...answers.entries()].filter(([, a]) => a.status !== 202)
  t.same(refused, [], 'every document answered 202 by the gateway it was sent to')
  const accepted = documents.map((d) => answers.get(d.n)?.body as Accepted)
  const pushIds = accepted.map((a) => a.recipients.find((r) => r.code === PUSH_RECIPIENT)?.deliveryId as string)
  const shaByDelivery = new Map(pushIds.map((id, i) => [id, (documents[i] as SignedDocument).sha256]))

  await waitUntil('every push delivery to end delivered or failed', async () => {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries WHERE mode = \'push\' AND state IN (\'delivered\', \'failed\')')
    return rows[0]?.n === DOCUMENTS
  }, 45_000)

  const { rows: stored } = await db.query<{ id: string, edxml_document_id: string, digest_sha256: string }>('SELECT id, edxml_document_id, digest_sha256 FROM documents')
  t.equal(stored.length, DOCUMENTS, 'one document row per document sent')
  t.same(new Set(stored.map((d) => d.id)), new Set(accepted.map((a) => a.id)), 'and they are the ones the gateways answered with')
  t.same(new Set(stored.map((d) => d.digest_sha256)), new Set(documents.map((d) => d.sha256)), 'holding the bytes that were sent')

  const { rows: deliveries } = await db.query<{ id: string, document_id: string, recipient_code: string, mode: string, state: string }>(
    'SELECT id, document_id, recipient_code, mode, state FROM deliveries')
  t.equal(deliveries.length, DOCUMENTS * 3, 'three deliveries per document (one per To)')
  const push = deliveries.filter((d) => d.mode === 'push')
  t.same(push.map((d) => d.state), push.map(() => 'delivered'), 'every push delivery delivered')
  t.same(new Set(push.map((d) => d.id)), new Set(pushIds), 'the push deliveries are the ones announced in the 202 answers')
  t.ok(deliveries.filter((d) => d.mode === 'pull').every((d) => d.state === 'available'), 'pull deliveries wait in the inboxes')

  t.equal(recipient.requests.length, DOCUMENTS, 'the recipient got one POST per delivery (none twice)')
  t.equal(recipient.distinctKeys(), DOCUMENTS, 'each under its own Idempotency-Key')
  t.same(new Set(recipient.applied.keys()), new Set(pushIds), 'the keys are the delivery ids')
  t.ok([...recipient.applied].every(([id, sha]) => sha === shaByDelivery.get(id)), 'each carried the original bytes of its document')
  t.ok(recipient.requests.every((r) => r.headers['x-lienthong-digest-sha256'] === r.bodySha256), 'and announced their digest')

  const { rows: actors } = await db.query<{ actor: string, n: number }>(
    'SELECT actor, count(*)::int AS n FROM delivery_events WHERE event = \'delivered\' GROUP BY actor ORDER BY actor')
  t.comment(`deliveries per worker: ${actors.map((a) => `${a.actor} ${a.n}`).join(', ')}`)
  t.equal(actors.reduce((sum, a) => sum + a.n, 0), DOCUMENTS, 'one `delivered` event per delivery')
  for (const worker of [workerA, workerB]) {
    t.ok(actors.some((a) => a.actor.endsWith(`:${worker.pid}`) && a.n > 0), `worker pid ${worker.pid} delivered some`)
  }

  const { rows: log } = await db.query<{ verdict: string, n: number }>('SELECT verdict, count(*)::int AS n FROM signature_log GROUP BY verdict')
  t.same(log, [{ verdict: 'accepted', n: DOCUMENTS }], 'one `accepted` signature-log entry per document, no duplicate')
  t.match(await verifySignatureLogChain(db), { ok: true, entries: DOCUMENTS }, 'the hash chain is intact although two gateways appended at once')

  for (const proc of [gatewayA, gatewayB, workerA, workerB]) {
    t.same(await proc.stop('SIGTERM', 40_000), { code: 0, signal: null }, `${proc.command} ${proc.pid} stops cleanly`)
    t.equal(proc.stderr, '', `${proc.command} ${proc.pid} wrote nothing to stderr`)
  }
})
