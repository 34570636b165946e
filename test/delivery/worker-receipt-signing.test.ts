import t from 'tap'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { hubPinOf, verifyReceipt } from '../../src/evidence/receipts.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { createApiKey } from '../../src/store/credentials.js'
import { testDatabase } from '../helpers/database.js'
import { PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity, REDIS_URL } from '../helpers/hub.js'
import { lienthongEnv, opsHubSettings, startLienthong, waitUntil } from '../helpers/hub-process.js'
import { PUSH_RECIPIENT, SENDER, registryWithPushUrls, signedDocument } from '../helpers/ops-fixtures.js'
import { recipientServer } from '../helpers/recipient-server.js'

// A separate `lienthong worker` process (the compiled CLI) signs its delivery receipts in receipt
// signing threads of its own (src/hub/start-worker.ts), as `serve` does in its gateway's: the
// receipt of a document it delivered must verify, pinned to the hub's signing certificate, and
// cite the delivery.

t.test('a worker process\'s delivery receipt, signed in its signing threads, verifies', async (t) => {
  const db = await testDatabase(t)
  const prefix = `{lt-worker-sign-${process.pid}-${randomBytes(3).toString('hex')}}`
  t.teardown(async () => {
    const queue = new DeliveryQueue(REDIS_URL, prefix)
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  })
  const recipient = await recipientServer(t)
  const dir = t.testdir()
  const registryFile = registryWithPushUrls(dir, { [PUSH_RECIPIENT]: recipient.url })
  await syncAgencies(db, await AgencyRegistry.load(registryFile))
  const { key } = await createApiKey(db, SENDER, 'worker receipt signing test')
  const env = lienthongEnv(opsHubSettings({ db, redisUrl: REDIS_URL, prefix, registryFile, dir }))
  const gateway = await startLienthong(t, 'serve', env)
  const worker = await startLienthong(t, 'worker', env)

  const res = await fetch(`${gateway.url}/v1/documents`, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, body: signedDocument(93_001).bytes })
  t.equal(res.status, 202)
  const body = await res.json() as { recipients: Array<{ code: string, deliveryId?: string }> }
  const deliveryId = body.recipients.find((r) => r.code === PUSH_RECIPIENT)?.deliveryId as string
  await waitUntil('the worker to deliver', async () =>
    (await db.query('SELECT 1 FROM deliveries WHERE id = $1 AND state = \'delivered\'', [deliveryId])).rows.length === 1, 60_000)
  const { rows } = await db.query<{ xml: string }>('SELECT xml FROM receipts WHERE delivery_id = $1 AND kind = \'delivery\'', [deliveryId])
  t.equal(rows.length, 1, 'one delivery receipt')
  const trustStore = await TrustStore.load(join(PKI, 'trust'))
  const check = await verifyReceipt(rows[0]?.xml ?? '', trustStore, { hub: hubPinOf((await exampleHubIdentity()).certificate) })
  t.equal(check.ok, true, check.ok ? 'verifies, pinned to the hub' : JSON.stringify(check))
  if (check.ok) t.match(check.fields, { kind: 'delivery', deliveryId, recipient: PUSH_RECIPIENT }, 'about this delivery')
  t.equal((await worker.stop('SIGTERM', 60_000)).code, 0, 'the worker (and its signing threads) stops cleanly')
})
