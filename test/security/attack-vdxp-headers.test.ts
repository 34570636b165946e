import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { insertVdxpSystem } from '../../src/store/vdxp-systems.js'
import { sealSecret } from '../../src/vdxp/secret-box.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { VdxpClient } from '../helpers/vdxp-client.js'

// Outsider review of the /vdxp API with the streaming verifier (attack-vdxp session): the VDXP
// parameters a system signs (from, to, messagetype, docId, status) against what the signed edXML
// says, statuses about documents an agency never received, and replayed acknowledgements. Every
// attack here held on the reviewed code; they stay as regression tests. Real HTTP against an
// in-process hub on its own PostgreSQL schema. A = H41 (sys.a), B = G12 (sys.b), C = G22 (sys.c),
// all pull agencies of this hub.
const A = '000.00.00.H41'
const B = '000.00.00.G12'
const C = '000.00.00.G22'

interface Fixture { hub: TestHub, client: (system: string) => VdxpClient }

async function vdxpHub (t: Test): Promise<Fixture> {
  const key = randomBytes(32)
  const hub = await testHub(t, { redisUrl: null, vdxpKey: key, authFailuresPerMinute: 10_000 })
  const secrets: Record<string, string> = {}
  for (const [systemId, agency] of [['sys.a', A], ['sys.b', B], ['sys.c', C]] as const) {
    secrets[systemId] = randomBytes(24).toString('base64')
    await insertVdxpSystem(hub.db, { systemId, agencies: [agency], allowDirectoryChanges: false, sealed: sealSecret(key, systemId, secrets[systemId] as string), ipAllowList: [] })
  }
  await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}/vdxp`
  return { hub, client: (system) => new VdxpClient(endpoint, system, secrets[system] as string) }
}

const listOf = (answer: { json?: Record<string, unknown> | undefined }): Array<Record<string, string>> => (answer.json?.data ?? []) as Array<Record<string, string>>

t.test('held: the signed edXML routes, not the VDXP to/messagetype/servicetype headers', async (t) => {
  const f = await vdxpHub(t)
  const doc = documentFromTo(A, B, 9701)
  // The SDK signs `to` as JSON text; here it names C, and messagetype claims a status message.
  const sent = await f.client('sys.a').sendEdoc(doc, { from: A, servicetype: 'Status', messagetype: 'status', to: JSON.stringify([{ code: C }]) })
  t.match(sent.json, { status: 'OK', DocId: /^[0-9a-f-]{36}$/ }, 'accepted: the headers are not what is routed')
  const { rows } = await f.hub.db.query<{ recipient_code: string, kind: string }>('SELECT d.recipient_code, doc.kind FROM deliveries d JOIN documents doc ON doc.id = d.document_id WHERE doc.id = $1', [sent.json?.DocId])
  t.same(rows, [{ recipient_code: B, kind: 'document' }], 'one delivery, to the signed To, as a document')
  t.same(listOf(await f.client('sys.c').callWithoutBody('getReceivedEdocList', {})), [], 'C, named only in the header, receives nothing')
  t.match(listOf(await f.client('sys.b').callWithoutBody('getReceivedEdocList', { messagetype: 'edoc' })), [{ from: A, to: B, messageType: 'edoc' }], 'B has it, as an edoc')
})

t.test('held: a from that only looks like a served agency is not served', async (t) => {
  const f = await vdxpHub(t)
  const doc = documentFromTo(A, B, 9702)
  // Full-width H, lower case, Cyrillic Н (U+041D), a zero-width space: none is A's code.
  for (const from of [A.replace('H', '\uff28'), A.toLowerCase(), A.replace('H', '\u041d'), `${A}\u200b`]) {
    const answer = await f.client('sys.a').sendEdoc(doc, { from, servicetype: 'eDoc', messagetype: 'edoc' })
    t.match(answer.json, { status: 'FAIL', ErrorCode: '302', DocId: '' }, `from ${JSON.stringify(from)}`)
  }
  const { rows } = await f.hub.db.query<{ n: string }>('SELECT count(*) AS n FROM documents')
  t.equal(Number(rows[0]?.n), 0, 'nothing accepted')
})

t.test('held: a status about a document the agency never received discloses nothing', async (t) => {
  const f = await vdxpHub(t)
  const doc = documentFromTo(A, B, 9703)
  t.match((await f.client('sys.a').sendEdoc(doc, { from: A, servicetype: 'eDoc', messagetype: 'edoc' })).json, { status: 'OK' })
  const answered = answeredDocumentOf(doc)
  if (answered == null) throw new Error('the document names no DocumentId')
  // C did not receive A's document; a status it signs about it must read exactly like one about
  // a document that does not exist, or C learns that A sent it.
  const aboutReal = await signAsDemoAgency(C, status03({ code: C, name: 'Văn phòng' }, answered))
  const aboutNothing = await signAsDemoAgency(C, status03({ code: C, name: 'Văn phòng' }, { ...answered, documentId: `${A},2026/11/20,999999/VPCP-KSTT` }))
  const real = await f.client('sys.c').sendEdoc(aboutReal, { from: C, servicetype: 'eDoc', messagetype: 'status' })
  const none = await f.client('sys.c').sendEdoc(aboutNothing, { from: C, servicetype: 'eDoc', messagetype: 'status' })
  t.match(real.json, { status: 'FAIL', code: 'DOCUMENT_UNKNOWN', DocId: '' }, 'refused')
  t.equal(real.httpStatus, none.httpStatus, 'the same HTTP status')
  t.same([real.json?.ErrorCode, real.json?.code, real.json?.ErrorDesc], [none.json?.ErrorCode, none.json?.code, none.json?.ErrorDesc], 'the same code and description')
  t.equal(String(real.json?.detail).replace(/\d+/g, 'N'), String(none.json?.detail).replace(/\d+/g, 'N'), 'the same detail')
  t.same(listOf(await f.client('sys.a').callWithoutBody('getReceivedEdocList', { messagetype: 'status' })), [], 'A received no status')
})

t.test('held: a replayed acknowledgement changes nothing; a contrary one is refused', async (t) => {
  const f = await vdxpHub(t)
  const sent = await f.client('sys.a').sendEdoc(documentFromTo(A, B, 9704), { from: A, servicetype: 'eDoc', messagetype: 'edoc' })
  const { rows } = await f.hub.db.query<{ id: string }>('SELECT id FROM deliveries WHERE document_id = $1', [sent.json?.DocId])
  const docId = rows[0]?.id as string
  const b = f.client('sys.b')
  t.match((await b.callWithEmptyObject('updateStatus', { status: 'done', docId })).json, { status: 'OK', state: 'acknowledged' })
  // The SDK retries POSTs after I/O errors: the same request again (same timestamp, same HMAC).
  t.match((await b.callWithEmptyObject('updateStatus', { status: 'DONE', docId })).json, { status: 'OK', state: 'acknowledged' }, 'the replay answers the same')
  t.match((await b.callWithEmptyObject('updateStatus', { status: 'fail', docId, reason: 'changed my mind' })).json, { status: 'FAIL' }, 'fail after done is refused')
  const receipts = await f.hub.db.query<{ n: string }>('SELECT count(*) AS n FROM receipts WHERE delivery_id = $1 AND kind = \'delivery\'', [docId])
  t.equal(Number(receipts.rows[0]?.n), 1, 'one delivery receipt, not one per replay')
  const state = await f.hub.db.query<{ state: string }>('SELECT state FROM deliveries WHERE id = $1', [docId])
  t.equal(state.rows[0]?.state, 'acknowledged')
})
