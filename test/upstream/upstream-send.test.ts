import t from 'tap'
import { startDeliveryWorker } from '../../src/delivery/delivery-worker.js'
import { upstreamSender } from '../../src/upstream/send-upstream.js'
import { refreshSentStates } from '../../src/upstream/refresh-sent.js'
import { pollUpstream } from '../../src/upstream/poll-upstream.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { REDIS_URL } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { scalar, submitV1, twoHubs, UPSTREAM_ID } from './two-hubs.js'

// Issue 13, "Upstream to a VDXP axis": hub 1 (VDXP client mode, upstream = hub 2) sends a document
// from its agency H41 to G12, an agency only hub 2 serves; G12's status 03 comes back to H41.
const H41 = '000.00.00.H41'
const G12 = '000.00.00.G12'

async function until (what: () => Promise<boolean>, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await what()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

t.test('a document from hub 1\'s agency to an agency served by hub 2 arrives, and its status comes back', async (t) => {
  const { hub1, hub2, client, accept } = await twoHubs(t, [H41], [G12])
  const prefix = hub1.queue?.queue.opts.prefix
  if (prefix == null) throw new Error('hub 1 has no queue')
  const worker = startDeliveryWorker({
    db: hub1.db,
    hub: hub1.context.hub,
    redisUrl: REDIS_URL,
    prefix,
    concurrency: 2,
    perRecipient: 2,
    timeoutMs: 10_000,
    retry: { baseDelayMs: 200, maxDelayMs: 1000, windowMs: 60_000 },
    routeSenders: { upstream: upstreamSender({ clients: new Map([[UPSTREAM_ID, client]]) }) },
    onError: (err) => t.comment(`worker: ${String(err)}`)
  })
  t.teardown(async () => { await worker.close(5000) })

  const bytes = documentFromTo(H41, G12, 8601)
  const documentId = await submitV1(t, hub1, H41, bytes)
  const row = (await hub1.db.query<{ id: string, route_kind: string }>('SELECT id, route_kind FROM deliveries WHERE document_id = $1', [documentId])).rows[0]
  t.equal(row?.route_kind, 'upstream', 'G12 is routed to the upstream (default route)')
  t.ok(await until(async () => await scalar(hub1, 'SELECT state AS v FROM deliveries WHERE id = $1', [row?.id]) === 'delivered'), 'hub 1 marks the delivery delivered')

  const upstreamDocId = await scalar(hub1, 'SELECT upstream_doc_id AS v FROM upstream_sent WHERE delivery_id = $1', [row?.id])
  t.match(upstreamDocId, /^[0-9a-f-]{36}$/, 'hub 2\'s DocId is stored with the delivery')
  const onHub2 = await hub2.db.query<{ raw: Uint8Array, sender_code: string }>('SELECT raw, sender_code FROM documents WHERE id = $1', [upstreamDocId])
  t.ok(Buffer.from(onHub2.rows[0]?.raw ?? []).equals(bytes), 'hub 2 holds exactly the bytes H41 signed')
  t.equal(await scalar(hub2, 'SELECT state AS v FROM deliveries WHERE document_id = $1 AND recipient_code = $2', [upstreamDocId, G12]), 'available', 'waiting in G12\'s inbox on hub 2')
  t.match(await scalar(hub1, 'SELECT detail AS v FROM delivery_events WHERE delivery_id = $1 AND event = \'forwarded\'', [row?.id]) ?? '', new RegExp(`upstream ${UPSTREAM_ID}: DocId ${upstreamDocId ?? ''}`), 'the trail names the upstream and its DocId')

  // getSentEdocList: hub 2's view, on hub 1's document.
  t.equal(await refreshSentStates(hub1.db, client, { staleMs: 0 }), 1, 'one delivery refreshed')
  const view = await hub1.app.inject({ method: 'GET', url: `/v1/documents/${documentId}`, headers: { authorization: `Bearer ${hub1.keys[H41] ?? ''}` } })
  t.match(view.json(), { deliveries: [{ id: row?.id, upstream: { id: UPSTREAM_ID, docId: upstreamDocId, sendStatus: 'available' } }] }, 'the delivery shows the upstream\'s DocId and state')

  // G12 answers on hub 2 with status 03; hub 1 polls it and routes it to H41.
  const answered = answeredDocumentOf(bytes)
  if (answered == null) throw new Error('the document names no DocumentId')
  await submitV1(t, hub2, G12, await signAsDemoAgency(G12, status03({ code: G12, name: 'Bộ Tài chính' }, answered)))
  const report = await pollUpstream({ db: hub1.db, client, accept })
  t.match(report, { accepted: 1, rejected: 0, acknowledged: 1 }, 'the status message is fetched and accepted')
  const status = await hub1.db.query<{ status_code: string, from_code: string }>('SELECT status_code, from_code FROM status_events WHERE document_id = $1', [documentId])
  t.match(status.rows, [{ status_code: '03', from_code: G12 }], 'on H41\'s document on hub 1')
  t.equal(await scalar(hub1, 'SELECT count(*) AS v FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE d.kind = \'status\' AND x.recipient_code = $1 AND x.route_kind = \'local\'', [H41]), '1', 'delivered to H41 locally, not routed on')
})
