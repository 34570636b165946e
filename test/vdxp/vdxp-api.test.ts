import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { request } from 'node:http'
import { insertVdxpSystem } from '../../src/store/vdxp-systems.js'
import { sealSecret } from '../../src/vdxp/secret-box.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { VdxpClient, type VdxpAnswer } from '../helpers/vdxp-client.js'

// Issue 12, "Done means": agency software on the VDXP SDK (here the test client written from the
// protocol document) against a real hub over HTTP. A = H41 and B = G12, both pull agencies.
const A = '000.00.00.H41'
const B = '000.00.00.G12'
const OTHER = '000.00.00.G22'

interface Fixture { hub: TestHub, endpoint: string, secrets: Record<string, string>, client: (system: string, secret?: string) => VdxpClient }

async function vdxpHub (t: Test): Promise<Fixture> {
  const key = randomBytes(32)
  const hub = await testHub(t, { redisUrl: null, vdxpKey: key, authFailuresPerMinute: 10_000 })
  const secrets: Record<string, string> = {}
  const systems = [
    { systemId: 'sys.a', agencies: [A], allowDirectoryChanges: false },
    { systemId: 'sys.b', agencies: [B], allowDirectoryChanges: true }
  ]
  for (const s of systems) {
    secrets[s.systemId] = randomBytes(24).toString('base64')
    await insertVdxpSystem(hub.db, { ...s, sealed: sealSecret(key, s.systemId, secrets[s.systemId] as string), ipAllowList: [] })
  }
  await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}/vdxp`
  return { hub, endpoint, secrets, client: (system, secret) => new VdxpClient(endpoint, system, secret ?? secrets[system] as string) }
}

/** The answer is the SDK's success shape, in ASCII only (sendEdoc answers are read as US-ASCII). */
function okAnswer (t: Test, answer: VdxpAnswer, what: string): Record<string, unknown> {
  t.match(answer.raw.toString('latin1'), /^[\x20-\x7e]*$/, `${what}: ASCII only`)
  t.match([answer.httpStatus, answer.json], [200, { status: 'OK', ErrorCode: '0', ErrorDesc: 'Thành công' }], `${what}: OK`)
  return answer.json ?? {}
}

async function counts (hub: TestHub): Promise<{ documents: number, deliveries: number }> {
  const { rows } = await hub.db.query<{ documents: string, deliveries: string }>('SELECT (SELECT count(*) FROM documents) AS documents, (SELECT count(*) FROM deliveries) AS deliveries')
  return { documents: Number(rows[0]?.documents), deliveries: Number(rows[0]?.deliveries) }
}

t.test('every operation, over HTTP, as the SDK speaks it', async (t) => {
  const { hub, endpoint, client } = await vdxpHub(t)
  // One client object per agency for the whole test, as the vendor example does: headers of
  // earlier calls stay on later ones (from, hash-file, filePath...) and the timestamp never moves.
  const a = client('sys.a')
  const b = client('sys.b')

  const viaVdxp = documentFromTo(A, B, 9101)
  const viaV1 = documentFromTo(A, B, 9102)
  const sent = okAnswer(t, await a.sendEdoc(viaVdxp, { from: A, servicetype: 'eDoc', messagetype: 'edoc' }), 'sendEdoc')
  t.match(sent.DocId, /^[0-9a-f-]{36}$/, 'DocId is the hub\'s document id')
  const v1 = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${hub.keys[A]}`, 'content-type': 'application/xml' }, payload: viaV1 })
  t.equal(v1.statusCode, 202, 'the other document through /v1')

  const again = okAnswer(t, await a.sendEdoc(viaVdxp, { from: A, servicetype: 'eDoc', messagetype: 'edoc' }), 'sendEdoc again')
  t.match(again, { DocId: sent.DocId, duplicate: true }, 'the same document again is the duplicate of the first, as on /v1')

  const received = okAnswer(t, await b.callWithoutBody('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' }), 'getReceivedEdocList')
  const items = received.data as Array<Record<string, string>>
  t.equal(items.length, 2, 'both documents wait for B')
  t.ok(items.every((i) => i.from === A && i.to === B && i.messageType === 'edoc' && !Object.values(i).includes(null as unknown as string)), 'from A, to B, no nulls')
  t.match(okAnswer(t, await b.callWithEmptyObject('countReceiveEdoc', { servicetype: 'eDoc', messagetype: 'edoc' }), 'countReceiveEdoc'), { count: 2 })
  t.match(okAnswer(t, await a.callWithoutBody('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' }), 'A\'s list'), { data: [] }, 'nothing for A')

  // Which delivery carries which document: getEdoc returns the stored bytes exactly.
  const byBytes = new Map<string, string>()
  for (const item of items) {
    const got = okAnswer(t, await b.callWithEmptyObject('getEdoc', { docId: item.docId as string, filePath: '/var/edoc/in' }), 'getEdoc')
    byBytes.set(Buffer.from(got.data as string, 'base64').toString('latin1'), item.docId as string)
  }
  const vdxpDelivery = byBytes.get(viaVdxp.toString('latin1'))
  const v1Delivery = byBytes.get(viaV1.toString('latin1'))
  t.ok(vdxpDelivery != null && v1Delivery != null, 'getEdoc gave back both documents byte for byte (without the CRLF the SDK appended)')
  const downloaded = await b.downloadEdoc({ docId: v1Delivery as string, filePath: '/var/edoc/in' })
  t.same([downloaded.httpStatus, downloaded.raw.equals(viaV1)], [200, true], 'downloadEdoc: the raw bytes')

  // updateStatus done with docId and docid, as the vendor example writes it, twice (retries).
  for (const attempt of [1, 2]) {
    okAnswer(t, await b.callWithEmptyObject('updateStatus', { status: 'done', docId: vdxpDelivery as string, docid: vdxpDelivery as string }), `updateStatus done #${attempt}`)
  }
  // A later getEdoc leaves docId on the client while docid keeps the old value: updateStatus
  // cannot know which one is meant and refuses rather than acknowledge the wrong document.
  await b.callWithEmptyObject('getEdoc', { docId: v1Delivery as string })
  const ambiguous = await b.callWithEmptyObject('updateStatus', { status: 'fail' })
  t.match(ambiguous.json, { status: 'FAIL', ErrorCode: '304', code: 'VDXP_BAD_PARAMETER' }, 'two spellings, two ids: refused')
  const { rows } = await hub.db.query<{ state: string }>('SELECT state FROM deliveries WHERE id = $1', [vdxpDelivery])
  t.equal(rows[0]?.state, 'acknowledged', 'the delivery is acknowledged')
  t.match(okAnswer(t, await b.callWithEmptyObject('updateStatus', { status: 'processing', docid: v1Delivery as string }), 'processing'), { state: 'processing' })
  const states = await hub.db.query<{ id: string, state: string }>('SELECT id, state FROM deliveries WHERE id = ANY($1) ORDER BY id', [[vdxpDelivery, v1Delivery]])
  t.same(Object.fromEntries(states.rows.map((r) => [r.id, r.state])), { [vdxpDelivery as string]: 'acknowledged', [v1Delivery as string]: 'downloaded' }, 'processing and the refused fail changed nothing')

  const sentList = okAnswer(t, await a.callWithoutBody('getSentEdocList', { servicetype: 'eDoc', messagetype: 'edoc', docId: sent.DocId as string }), 'getSentEdocList')
  t.match(sentList.data, [{ senderDocId: sent.DocId, receiverDocId: vdxpDelivery, fromCode: A, toCode: B, sendStatus: 'acknowledged', receiveStatus: '01', receiveStatusDesc: 'Đã đến' }])

  // B answers with status 03 through sendEdoc, messagetype=status.
  const answered = answeredDocumentOf(viaVdxp)
  if (answered == null) throw new Error('the document names no DocumentId')
  const status = await signAsDemoAgency(B, status03({ code: B, name: 'Bộ Tài chính' }, answered))
  okAnswer(t, await b.sendEdoc(status, { from: B, servicetype: 'eDoc', messagetype: 'status' }), 'sendEdoc status 03')
  t.match(okAnswer(t, await a.callWithEmptyObject('countReceiveStatus', { servicetype: 'eDoc', messagetype: 'status' }), 'countReceiveStatus'), { count: 1 })
  const statuses = okAnswer(t, await a.callWithoutBody('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'status' }), 'A\'s status list')
  t.match(statuses.data, [{ from: B, to: A, messageType: 'status', status: '03' }], 'the status reached A')
  const after = okAnswer(t, await a.callWithoutBody('getSentEdocList', { servicetype: 'eDoc', messagetype: 'edoc', docId: sent.DocId as string }), 'getSentEdocList after 03')
  t.match(after.data, [{ receiveStatus: '03', receiveStatusDesc: 'Đã tiếp nhận' }])

  // The directory.
  const agencies = okAnswer(t, await a.callWithoutBody('getAgenciesList', {}), 'getAgenciesList')
  t.ok([A, B, OTHER].every((code) => (agencies.data as Array<{ code: string }>).some((u) => u.code === code)), 'the registry\'s agencies')
  t.match(okAnswer(t, await a.callWithoutBody('getAgenciesListQD20', { level: '1' }), 'getAgenciesListQD20'), { data: [{ code: /./, code102: /./ }] })
  const refused = await a.registerAgency({ id: '', pcode: A, code: '000.01.00.H41', name: 'Phòng thử nghiệm', mail: 'a@example.vn', mobile: '', fax: '' })
  t.match(refused.json, { status: 'FAIL', ErrorCode: '305', code: 'VDXP_DIRECTORY_CHANGES_FORBIDDEN' }, 'sys.a may not change the directory')
  okAnswer(t, await b.registerAgency({ id: '', pcode: B, code: '000.01.00.G12', name: 'Phòng thử nghiệm', mail: 'b@example.vn', mobile: '', fax: '' }), 'registerAgency by sys.b')
  t.match((await b.callWithEmptyObject('deleteAgency', { AgencyCode: B })).json, { status: 'FAIL', ErrorCode: '306' }, 'a registry agency cannot be deleted through VDXP')
  okAnswer(t, await b.callWithEmptyObject('deleteAgency', { AgencyCode: '000.01.00.G12' }), 'deleteAgency')
  const sync = okAnswer(t, await b.callWithoutBody('getSynchronizeUnit', {}), 'getSynchronizeUnit')
  t.match((sync.data as Array<{ code: string }>).find((u) => u.code === '000.01.00.G12'), { deleted: true, isAgency: false, version: 2, pid: B })
  t.match((sync.data as Array<{ code: string }>).find((u) => u.code === A), { deleted: false, isAgency: true, version: 1 })
  t.ok(endpoint.endsWith('/vdxp'))
})

t.test('refusals: a FAIL with the documented code, and nothing stored', async (t) => {
  const { hub, client } = await vdxpHub(t)
  const doc = documentFromTo(A, B, 9201)
  const altered = Buffer.from(doc)
  const at = altered.indexOf('<edXML:Subject>') + '<edXML:Subject>'.length
  altered[at] = altered[at] === 0x58 ? 0x59 : 0x58
  const send = { from: A, servicetype: 'eDoc', messagetype: 'edoc' }
  const cases: Array<{ name: string, run: () => Promise<VdxpAnswer>, status: number, errorCode: string, code: string }> = [
    { name: 'bad HMAC', run: async () => await client('sys.a', 'not-the-secret').sendEdoc(doc, send), status: 401, errorCode: '101', code: 'UNAUTHENTICATED' },
    { name: 'HMAC of other bytes', run: async () => await client('sys.a').sendEdoc(doc, send, { tamper: { hashHeader: '0'.repeat(64) } }), status: 401, errorCode: '101', code: 'UNAUTHENTICATED' },
    { name: 'unknown system id', run: async () => await client('sys.nobody', 'whatever').sendEdoc(doc, send), status: 401, errorCode: '101', code: 'UNAUTHENTICATED' },
    { name: 'from not served by the system', run: async () => await client('sys.a').sendEdoc(doc, { ...send, from: B }), status: 403, errorCode: '302', code: 'VDXP_SENDER_NOT_SERVED' },
    { name: 'body tampered after hash-file', run: async () => await client('sys.a').sendEdoc(doc, send, { tamper: { body: Buffer.concat([altered, Buffer.from('\r\n')]) } }), status: 400, errorCode: '301', code: 'VDXP_HASH_FILE_MISMATCH' },
    { name: 'signature rejected', run: async () => await client('sys.a').sendEdoc(altered, send), status: 422, errorCode: '222', code: 'DIGEST_MISMATCH' },
    { name: 'unknown docId', run: async () => await client('sys.b').callWithEmptyObject('getEdoc', { docId: '0b7e8f0c-4a51-4d0e-9a3e-5f1c2d3e4f50' }), status: 404, errorCode: '103', code: 'NOT_FOUND' },
    { name: 'docId not a hub id', run: async () => await client('sys.b').callWithEmptyObject('updateStatus', { docId: '12345', status: 'done' }), status: 400, errorCode: '304', code: 'VDXP_BAD_PARAMETER' }
  ]
  const before = await counts(hub)
  for (const c of cases) {
    const answer = await c.run()
    t.match([answer.httpStatus, answer.json], [c.status, { status: 'FAIL', ErrorCode: c.errorCode, code: c.code, ErrorDesc: /\S/ }], c.name)
    t.match(answer.raw.toString('latin1'), /^[\x20-\x7e]*$/, `${c.name}: ASCII only`)
    if (c.name !== 'unknown docId' && c.name !== 'docId not a hub id') t.equal(answer.json?.DocId, '', `${c.name}: DocId present (empty)`)
  }
  t.same(await counts(hub), before, 'no document, no delivery stored')
  const { rows } = await hub.db.query<{ reason_code: string, authenticated_agency: string }>('SELECT reason_code, authenticated_agency FROM signature_log WHERE verdict = \'rejected\'')
  t.same(rows, [{ reason_code: 'DIGEST_MISMATCH', authenticated_agency: A }], 'only the verified-and-rejected attempt is in the signature log, as for /v1')
})

t.test('quirks: bodyless requests with Content-Type: application/json, and a system serving several agencies', async (t) => {
  const { hub, endpoint } = await vdxpHub(t)
  const secret = randomBytes(16).toString('hex')
  await insertVdxpSystem(hub.db, { systemId: 'province.hub', agencies: [A, B], sealed: sealSecret(hub.context.vdxpKey as Buffer, 'province.hub', secret), allowDirectoryChanges: false, ipAllowList: ['10.0.0.0/8'] })
  const refused = await new VdxpClient(endpoint, 'province.hub', secret).callWithoutBody('getReceivedEdocList', {})
  t.match(refused.json, { status: 'FAIL', ErrorCode: '101' }, 'outside its IP allow-list the secret is not enough')
  await hub.db.query('UPDATE vdxp_systems SET ip_allow_list = \'{127.0.0.0/8}\' WHERE system_id = $1', ['province.hub'])
  const province = new VdxpClient(endpoint, 'province.hub', secret)
  okAnswer(t, await province.sendEdoc(documentFromTo(A, B, 9301), { from: A, servicetype: 'eDoc', messagetype: 'edoc' }), 'as A')
  okAnswer(t, await province.sendEdoc(documentFromTo(B, A, 9302), { from: B, servicetype: 'eDoc', messagetype: 'edoc' }), 'as B')
  const list = okAnswer(t, await province.callWithoutBody('getReceivedEdocList', { servicetype: 'eDoc', messagetype: 'edoc' }), 'the inboxes of both')
  t.same((list.data as Array<{ to: string }>).map((i) => i.to).sort(), [B, A].sort())

  // A request with no XroadVnpt headers at all (downloadEdoc2 in the SDK) is refused in VDXP form.
  const bare = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = request(`${endpoint}/getAgenciesList`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '0' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
  t.match([bare.status, JSON.parse(bare.body)], [401, { status: 'FAIL', ErrorCode: '101', ErrorDesc: /X\u00e1c th\u1ef1c/ }])
})
