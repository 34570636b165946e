import t from 'tap'
import { randomBytes } from 'node:crypto'
import { pollUpstream, type PollingClient } from '../../src/upstream/poll-upstream.js'
import { removeUpstreamSchedules, startUpstreamPoller } from '../../src/upstream/upstream-poller.js'
import { REDIS_URL } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { scalar, submitV1, twoHubs, UPSTREAM_ID } from './two-hubs.js'

// Issue 13, "Upstream to a VDXP axis": hub 1 polls hub 2's /vdxp API (VDXP client mode) for
// documents addressed to its agencies. G22 is an agency both registries know (hub 1 must know a
// sender's certificates to verify what it fetches); H41 receives by pull on both hubs.
const SENDER = '000.00.00.G22'
const OURS = '000.00.00.H41'

/** Counts the upstream calls a poll makes, and can make one of them fail like a crash would. */
function recording (client: PollingClient, crash: { updateStatus?: boolean } = {}): PollingClient & { calls: string[] } {
  const calls: string[] = []
  return {
    account: client.account,
    calls,
    receivedList: async (type) => { calls.push(`list:${type}`); return await client.receivedList(type) },
    getEdoc: async (id) => { calls.push(`getEdoc:${id}`); return await client.getEdoc(id) },
    updateStatus: async (id, status, reason) => {
      calls.push(`updateStatus:${id}:${status}`)
      if (crash.updateStatus === true) throw new Error('simulated crash before updateStatus')
      await client.updateStatus(id, status, reason)
    }
  }
}

t.test('a document on hub 2 for hub 1\'s agency is polled, verified, delivered locally and marked done on hub 2', async (t) => {
  const { hub1, hub2, client, accept } = await twoHubs(t, [OURS])
  const bytes = documentFromTo(SENDER, OURS, 8101)
  const onHub2 = await submitV1(t, hub2, SENDER, bytes)
  const listed = await client.receivedList('edoc')
  t.equal(listed.length, 1, 'hub 2 lists it for system hub-1')

  const report = await pollUpstream({ db: hub1.db, client, accept })
  t.match(report, { listed: 1, fetched: 1, accepted: 1, duplicates: 0, rejected: 0, acknowledged: 1, failed: 0 })

  const doc = await hub1.db.query<{ id: string, raw: Uint8Array, sender_code: string }>('SELECT id, raw, sender_code FROM documents')
  t.equal(doc.rows.length, 1, 'hub 1 holds the document once')
  t.ok(Buffer.from(doc.rows[0]?.raw ?? []).equals(bytes), 'byte for byte what G22 signed')
  t.equal(await scalar(hub1, 'SELECT state AS v FROM deliveries WHERE recipient_code = $1', [OURS]), 'available', 'waiting in H41\'s inbox on hub 1')
  t.equal(await scalar(hub1, 'SELECT authenticated_agency AS v FROM signature_log WHERE verdict = \'accepted\''), `upstream:${UPSTREAM_ID}`, 'the signature log names the upstream as the source')
  t.match(await hub1.db.query('SELECT outcome, document_id, ack_status FROM upstream_received'), { rows: [{ outcome: 'accepted', document_id: doc.rows[0]?.id, ack_status: 'done' }] })
  t.equal(await scalar(hub2, 'SELECT state AS v FROM deliveries WHERE document_id = $1', [onHub2]), 'acknowledged', 'hub 2 has it acknowledged (updateStatus done)')
  t.equal((await client.receivedList('edoc')).length, 0, 'no longer listed on hub 2')

  const again = await pollUpstream({ db: hub1.db, client, accept })
  t.match(again, { listed: 0, fetched: 0 }, 'the next poll finds nothing')
})

t.test('a poll repeated after a crash does not duplicate', async (t) => {
  const { hub1, hub2, client, accept } = await twoHubs(t, [OURS])

  await t.test('crash between our commit and updateStatus: the next poll only acknowledges', async (t) => {
    const onHub2 = await submitV1(t, hub2, SENDER, documentFromTo(SENDER, OURS, 8201))
    const crashing = recording(client, { updateStatus: true })
    const first = await pollUpstream({ db: hub1.db, client: crashing, accept })
    t.match(first, { fetched: 1, accepted: 1, acknowledged: 0, failed: 1 })
    t.equal(await scalar(hub2, 'SELECT state AS v FROM deliveries WHERE document_id = $1', [onHub2]), 'downloaded', 'hub 2 has it downloaded, not acknowledged: still listed')

    const recovered = recording(client)
    const second = await pollUpstream({ db: hub1.db, client: recovered, accept })
    t.match(second, { listed: 1, fetched: 0, accepted: 0, duplicates: 0, acknowledged: 1 })
    t.notOk(recovered.calls.some((c) => c.startsWith('getEdoc')), 'not fetched again')
    t.equal(await scalar(hub1, 'SELECT count(*) AS v FROM documents'), '1', 'one document on hub 1')
    t.equal(await scalar(hub2, 'SELECT state AS v FROM deliveries WHERE document_id = $1', [onHub2]), 'acknowledged')
  })

  await t.test('crash between our commit and the upstream_received row: fetched again, answered as a duplicate', async (t) => {
    const onHub2 = await submitV1(t, hub2, SENDER, documentFromTo(SENDER, OURS, 8202))
    const dying = async (bytes: Buffer, id: string): ReturnType<typeof accept> => {
      await accept(bytes, id)
      throw new Error('simulated crash after the accepting transaction')
    }
    const first = await pollUpstream({ db: hub1.db, client, accept: dying })
    t.match(first, { fetched: 1, acknowledged: 0, failed: 1 })
    const second = await pollUpstream({ db: hub1.db, client, accept })
    t.match(second, { fetched: 1, accepted: 0, duplicates: 1, acknowledged: 1 })
    t.equal(await scalar(hub1, 'SELECT count(*) AS v FROM documents'), '2', 'still one document per document sent')
    t.equal(await scalar(hub1, 'SELECT count(*) AS v FROM deliveries'), '2', 'and one delivery each')
    t.equal(await scalar(hub2, 'SELECT state AS v FROM deliveries WHERE document_id = $1', [onHub2]), 'acknowledged')
  })
})

t.test('a document tampered with upstream is refused (signature log) and reported upstream as failed', async (t) => {
  const { hub1, hub2, client, accept } = await twoHubs(t, [OURS])
  const bytes = documentFromTo(SENDER, OURS, 8301)
  const onHub2 = await submitV1(t, hub2, SENDER, bytes)
  // The upstream (or someone between) changes the content after the sender signed it.
  const tampered = Buffer.from(bytes.toString('utf8').replace('<edXML:CodeNumber>8301<', '<edXML:CodeNumber>8302<'))
  t.not(tampered.toString(), bytes.toString(), 'the fixture really changed')
  await hub2.db.query('UPDATE documents SET raw = $1 WHERE id = $2', [tampered, onHub2])

  const report = await pollUpstream({ db: hub1.db, client, accept })
  t.match(report, { fetched: 1, accepted: 0, rejected: 1, acknowledged: 1 })
  t.equal(await scalar(hub1, 'SELECT count(*) AS v FROM documents'), '0', 'nothing stored on hub 1')
  const logged = await hub1.db.query<{ verdict: string, reason_code: string, authenticated_agency: string }>('SELECT verdict, reason_code, authenticated_agency FROM signature_log')
  t.match(logged.rows, [{ verdict: 'rejected', reason_code: 'DIGEST_MISMATCH', authenticated_agency: `upstream:${UPSTREAM_ID}` }], 'one signature-log entry with the reason')
  t.match(await hub1.db.query('SELECT outcome, reason_code, ack_status FROM upstream_received'), { rows: [{ outcome: 'rejected', reason_code: 'DIGEST_MISMATCH', ack_status: 'fail' }] })
  t.equal(await scalar(hub2, 'SELECT state AS v FROM deliveries WHERE document_id = $1', [onHub2]), 'failed', 'hub 2 has it failed (updateStatus fail)')
  t.match(await scalar(hub2, 'SELECT detail AS v FROM delivery_events WHERE event = \'failed\' ORDER BY id DESC LIMIT 1') ?? '', /DIGEST_MISMATCH/, 'with our reason code in its trail')
})

t.test('the repeatable BullMQ job polls by itself', async (t) => {
  const { hub1, hub2, client, accept } = await twoHubs(t, [OURS])
  const prefix = `{lt-test-${randomBytes(4).toString('hex')}}`
  const rounds: number[] = []
  const poller = await startUpstreamPoller({
    redisUrl: REDIS_URL,
    prefix,
    db: hub1.db,
    clients: [client],
    accept: () => accept,
    intervalMs: 300,
    onRound: (r) => rounds.push(r.poll.accepted),
    onError: (err) => t.error(err)
  })
  t.teardown(async () => {
    await poller.close()
    await removeUpstreamSchedules(REDIS_URL, prefix)
  })
  await submitV1(t, hub2, SENDER, documentFromTo(SENDER, OURS, 8401))
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline && await scalar(hub1, 'SELECT count(*) AS v FROM documents') !== '1') await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(await scalar(hub1, 'SELECT count(*) AS v FROM documents'), '1', 'fetched by a scheduled round')
  const before = rounds.length
  while (Date.now() < deadline && rounds.length < before + 2) await new Promise((resolve) => setTimeout(resolve, 100))
  t.ok(rounds.length >= before + 2, 'and it keeps polling')
  t.equal(await scalar(hub1, 'SELECT count(*) AS v FROM documents'), '1', 'without fetching it again')
})
