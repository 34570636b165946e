import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { enqueuePending } from '../../src/queue/reconciler.js'
import { FIXTURES } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { PrivateRedis } from '../helpers/redis-server.js'

t.test('a document accepted while Redis is down is enqueued when Redis returns', async (t) => {
  const redis = await PrivateRedis.create()
  await redis.start()
  t.teardown(async () => { await redis.stop() })
  const { app, db, queue, keys } = await testHub(t, { redisUrl: redis.url })
  await redis.stop()

  const res = await app.inject({
    method: 'POST',
    url: '/v1/documents',
    headers: { 'content-type': 'application/xml', authorization: `Bearer ${keys['000.00.00.G22']}` },
    payload: readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-c14n-rsa-sha512-many-recipients.edxml'))
  })
  t.equal(res.statusCode, 202, 'accepted and stored without Redis')
  const id = res.json().id as string
  const pending = await db.query<{ id: string, enqueued: boolean }>('SELECT id, enqueued FROM deliveries WHERE document_id = $1 AND mode = \'push\'', [id])
  t.equal(pending.rows.length, 1, 'one push recipient (the two pull ones are in their inboxes)')
  t.ok(pending.rows.every((r) => !r.enqueued), 'the push delivery waits in PostgreSQL')
  await t.rejects(enqueuePending(db, queue!), 'the reconciler cannot enqueue while Redis is down')

  await redis.start()
  for (let i = 0; i < 100 && !(await queue!.ping()); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(await enqueuePending(db, queue!), 1, 'the reconciler enqueues it')
  t.equal(await enqueuePending(db, queue!), 0, 'and nothing twice')
  for (const row of pending.rows) {
    const job = await queue!.queue.getJob(row.id)
    t.equal(job?.id, row.id, 'job id = delivery id')
  }
  const after = await db.query<{ enqueued: boolean }>('SELECT enqueued FROM deliveries WHERE document_id = $1', [id])
  t.ok(after.rows.every((r) => r.enqueued))
})
