import t, { type Test } from 'tap'
import { createHmac, randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { request } from 'node:http'
import { insertVdxpSystem } from '../../src/store/vdxp-systems.js'
import { sealSecret } from '../../src/vdxp/secret-box.js'
import { sdkHashFile } from '../../src/vdxp/signed-headers.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { VdxpClient } from '../helpers/vdxp-client.js'

// Outsider review of the /vdxp API (issue 12). Each test is one attack over real HTTP against an
// in-process hub on its own PostgreSQL schema. Attacks the hub withstands are plain tests; the
// confirmed findings, which fail today, are registered with t.todo (so the suite stays green)
// and say so in a comment. A = H41 (sys.a, no directory flag), B = G12 (sys.b, directory flag),
// C = G22 (sys.c, directory flag).
const A = '000.00.00.H41'
const B = '000.00.00.G12'
const C = '000.00.00.G22'

/**
 * tap does not run a todo test's body: ATTACK_VDXP_FINDINGS=1 runs the findings as plain tests,
 * to see them fail today (and pass once fixed).
 */
const todo = (finding: string): string | false => process.env.ATTACK_VDXP_FINDINGS === '1' ? false : finding

interface Fixture { hub: TestHub, endpoint: string, secrets: Record<string, string>, client: (system: string) => VdxpClient }

async function vdxpHub (t: Test): Promise<Fixture> {
  const key = randomBytes(32)
  const hub = await testHub(t, { redisUrl: null, vdxpKey: key, authFailuresPerMinute: 10_000 })
  const secrets: Record<string, string> = {}
  for (const s of [
    { systemId: 'sys.a', agencies: [A], allowDirectoryChanges: false },
    { systemId: 'sys.b', agencies: [B], allowDirectoryChanges: true },
    { systemId: 'sys.c', agencies: [C], allowDirectoryChanges: true }
  ]) {
    secrets[s.systemId] = randomBytes(24).toString('base64')
    await insertVdxpSystem(hub.db, { ...s, sealed: sealSecret(key, s.systemId, secrets[s.systemId] as string), ipAllowList: [] })
  }
  await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}/vdxp`
  return { hub, endpoint, secrets, client: (system) => new VdxpClient(endpoint, system, secrets[system] as string) }
}

interface Raw { status: number, headers: Record<string, string | string[] | undefined>, body: Buffer, json: Record<string, unknown> | undefined }

/**
 * A hand-made VDXP request: `signHeader` is sent (as UTF-8 bytes) and HMAC'd exactly as given,
 * so attacks can put duplicate keys or odd JSON in it; `headers` adds or overrides anything.
 */
async function rawCall (endpoint: string, op: string, options: { secret?: string, systemId?: string, signHeader?: string, headers?: Record<string, string>, body?: Buffer, method?: string }): Promise<Raw> {
  const url = new URL(`${endpoint}/${op}`)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.signHeader != null) {
    headers['xroadvnpt-systemid'] = options.systemId ?? ''
    headers['xroadvnpt-sign-header'] = Buffer.from(options.signHeader, 'utf8').toString('latin1')
    headers['xroadvnpt-hash-header'] = createHmac('sha256', Buffer.from(options.secret ?? '', 'utf8')).update(Buffer.from(options.signHeader, 'utf8')).digest('hex')
  }
  Object.assign(headers, options.headers)
  const body = options.body ?? Buffer.alloc(0)
  if (options.method !== 'GET') headers['content-length'] = String(body.length)
  return await new Promise<Raw>((resolve, reject) => {
    const req = request({ method: options.method ?? 'POST', host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const raw = Buffer.concat(chunks)
        let json: Record<string, unknown> | undefined
        try { json = JSON.parse(raw.toString('utf8')) as Record<string, unknown> } catch { json = undefined }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw, json })
      })
    })
    req.on('error', reject)
    req.end(options.method === 'GET' ? undefined : body)
  })
}

/** A sign-header in the SDK's compact form, pairs in the given order (duplicates allowed). */
const signHeaderOf = (pairs: Array<[string, string]>): string => `{${pairs.map(([k, v]) => `${JSON.stringify(`XroadVnpt-${k}`)}:${JSON.stringify(v)}`).join(',')}}`

/** A sent document from A to B, its delivery id (B's docId) and document id (A's DocId). */
async function sentAtoB (f: Fixture, serial: number): Promise<{ deliveryId: string, documentId: string }> {
  const sent = await f.client('sys.a').sendEdoc(documentFromTo(A, B, serial), { from: A, servicetype: 'eDoc', messagetype: 'edoc' })
  const documentId = sent.json?.DocId as string
  const { rows } = await f.hub.db.query<{ id: string }>('SELECT id FROM deliveries WHERE document_id = $1', [documentId])
  return { documentId, deliveryId: rows[0]?.id as string }
}

t.test('held: another system cannot read, acknowledge or list a delivery through its docId', async (t) => {
  const f = await vdxpHub(t)
  const { deliveryId, documentId } = await sentAtoB(f, 9601)
  const c = f.client('sys.c')
  for (const id of [deliveryId, deliveryId.toUpperCase(), ` ${deliveryId} `]) {
    t.match((await c.callWithEmptyObject('getEdoc', { docId: id })).json, { status: 'FAIL', ErrorCode: '103' }, `getEdoc ${JSON.stringify(id)}`)
    t.match((await c.downloadEdoc({ docId: id })).json, { status: 'FAIL', ErrorCode: '103' }, `downloadEdoc ${JSON.stringify(id)}`)
  }
  // The sender itself (sys.a) holds the DocId and the delivery id (getSentEdocList receiverDocId): still not its inbox.
  t.match((await f.client('sys.a').callWithEmptyObject('updateStatus', { docId: deliveryId, status: 'done' })).json, { status: 'FAIL', ErrorCode: '103' }, 'the sender cannot acknowledge for the recipient')
  t.match((await c.callWithoutBody('getSentEdocList', { docId: documentId })).json, { status: 'OK', data: [] }, 'another system lists nothing of A\'s document')
  const { rows } = await f.hub.db.query<{ state: string }>('SELECT state FROM deliveries WHERE id = $1', [deliveryId])
  t.equal(rows[0]?.state, 'available', 'nothing was downloaded or acknowledged')
})

t.test('held: parameters come from the signed JSON only; duplicate keys cannot smuggle a from', async (t) => {
  const f = await vdxpHub(t)
  const doc = documentFromTo(B, A, 9602)
  const base: Array<[string, string]> = [['systemid', 'sys.a'], ['servicetype', 'eDoc'], ['messagetype', 'edoc'], ['hash-file', sdkHashFile(doc)], ['timestamp', '07122026T010000+0001'], ['Content-Type', 'application/octet-stream']]
  const body = Buffer.concat([doc, Buffer.from('\r\n')])
  const send = async (pairs: Array<[string, string]>, headers: Record<string, string> = {}): Promise<Raw> =>
    await rawCall(f.endpoint, 'sendEdoc', { systemId: 'sys.a', secret: f.secrets['sys.a'], signHeader: signHeaderOf(pairs), headers: { 'content-type': 'application/octet-stream', ...headers }, body })
  // sys.a serves A only; the document is B's. Every trick must end in SENDER_NOT_SERVED or SENDER_MISMATCH, never OK.
  const cases: Array<{ name: string, pairs: Array<[string, string]>, headers?: Record<string, string> }> = [
    { name: 'duplicate from: A then B', pairs: [...base, ['from', A], ['from', B]] },
    { name: 'duplicate from: B then A', pairs: [...base, ['from', B], ['from', A]] },
    { name: 'from and From', pairs: [...base, ['from', A], ['From', B]] },
    { name: 'unsigned XroadVnpt-from header B, signed A', pairs: [...base, ['from', A]], headers: { 'xroadvnpt-from': B } },
    { name: 'from as a JSON array-ish text', pairs: [...base, ['from', `${A},${B}`]] }
  ]
  for (const c of cases) {
    const answer = await send(c.pairs, c.headers)
    t.match(answer.json, { status: 'FAIL', ErrorCode: /^(302|220)$/, DocId: '' }, c.name)
  }
  const { rows } = await f.hub.db.query<{ n: string }>('SELECT count(*) AS n FROM documents')
  t.equal(Number(rows[0]?.n), 0, 'nothing accepted')
})

t.test('held: malformed or oversized authentication headers answer FAIL 101 and the hub stays up', async (t) => {
  const f = await vdxpHub(t)
  const secret = f.secrets['sys.a'] as string
  const cases: Array<{ name: string, signHeader: string, systemId?: string }> = [
    { name: 'nested object value', signHeader: '{"XroadVnpt-systemid":"sys.a","XroadVnpt-docId":{"$ne":1}}' },
    { name: 'array', signHeader: '["XroadVnpt-systemid","sys.a"]' },
    { name: 'not JSON', signHeader: 'XroadVnpt-systemid=sys.a' },
    { name: 'signed system id differs from the header', signHeader: '{"XroadVnpt-systemid":"sys.b"}' },
    { name: 'systemid signed twice, last one another system', signHeader: '{"XroadVnpt-systemid":"sys.a","XroadVnpt-systemid":"sys.b"}' },
    { name: '__proto__ key', signHeader: '{"XroadVnpt-systemid":"sys.a","__proto__":{"systemid":"sys.b"}}' }
  ]
  for (const c of cases) {
    const answer = await rawCall(f.endpoint, 'getReceivedEdocList', { systemId: c.systemId ?? 'sys.a', secret, signHeader: c.signHeader })
    t.match([answer.status, answer.json], [401, { status: 'FAIL', ErrorCode: '101' }], c.name)
    t.notMatch(answer.body.toString('latin1'), secret, `${c.name}: no secret in the answer`)
  }
  const big = await rawCall(f.endpoint, 'getReceivedEdocList', { systemId: 'sys.a', secret, signHeader: signHeaderOf([['systemid', 'sys.a'], ['pad', 'x'.repeat(64 * 1024)]]) })
  t.equal(big.status, 431, 'a 64 KiB sign-header is refused as too large')
  const after = await f.client('sys.a').callWithoutBody('getAgenciesList', {})
  t.match(after.json, { status: 'OK' }, 'the hub still answers')
})

t.test('held: directory texts cannot inject into answers or headers', async (t) => {
  const f = await vdxpHub(t)
  const b = f.client('sys.b')
  const evil = 'Phòng "x"\\ </script> \u2028 \u202e'
  t.match((await b.registerAgency({ id: '', pcode: B, code: '000.02.00.G12', name: evil, mail: '', mobile: '', fax: '' })).json, { status: 'OK' })
  for (const name of ['a\r\nX-Injected: 1', 'a\u0000b']) {
    t.match((await b.registerAgency({ id: '', pcode: B, code: '000.03.00.G12', name, mail: '', mobile: '', fax: '' })).json, { status: 'FAIL', ErrorCode: '304' }, `control characters in name ${JSON.stringify(name)}`)
  }
  const list = await b.callWithoutBody('getAgenciesList', {})
  t.match(list.raw.toString('latin1'), /^[\x20-\x7e]*$/, 'the answer is ASCII only (non-ASCII and U+2028 escaped)')
  t.ok((list.json?.data as Array<{ code: string, name: string }>).some((u) => u.code === '000.02.00.G12' && u.name === evil), 'the name round-trips exactly')
})

// FINDING V1 (low): a system with --allow-directory-changes can overwrite or delete the units
// another system registered: registerUnit upserts without looking at registered_by, deleteUnit
// deletes any code. Expected: a unit is changed only by the system that registered it (or the
// operator). Failed on the reviewed code; fixed (store/vdxp-directory.ts registered_by).
t.test('a system cannot overwrite or delete another system\'s unit', async (t) => {
  const f = await vdxpHub(t)
  const unit = { id: '', pcode: B, code: '000.04.00.G12', name: 'Phòng của G12', mail: 'g12@example.vn', mobile: '', fax: '' }
  t.match((await f.client('sys.b').registerAgency(unit)).json, { status: 'OK' })
  const overwrite = await f.client('sys.c').registerAgency({ ...unit, name: 'Giả mạo', mail: 'attacker@example.com' })
  t.match(overwrite.json, { status: 'FAIL' }, 'sys.c may not rename sys.b\'s unit')
  const removed = await f.client('sys.c').callWithEmptyObject('deleteAgency', { AgencyCode: unit.code })
  t.match(removed.json, { status: 'FAIL' }, 'sys.c may not delete sys.b\'s unit')
})

// FINDING V2 (low): registerAgency refuses a registry agency's code only when it matches exactly:
// 000.00.00.h41 (lower-case h) registers a look-alike of H41 with any name and mail, listed by
// getAgenciesList beside the real one. Expected: 306, like the exact code. Failed on the reviewed
// code; fixed (store/agencies.ts agencyExistsIgnoringCase).
t.test('a code differing from a registry agency only by case is refused', async (t) => {
  const f = await vdxpHub(t)
  const answer = await f.client('sys.b').registerAgency({ id: '', pcode: '', code: A.toLowerCase(), name: 'Văn phòng (thật)', mail: 'phish@example.com', mobile: '', fax: '' })
  t.match(answer.json, { status: 'FAIL', ErrorCode: '306' })
})

// FINDING V3 (medium, protocol + docs): the HMAC covers neither the operation (URL path) nor any
// body but sendEdoc's. docs/vdxp-compat.md "Replay" says "replayed reads disclose only what the
// capture already held", but a captured updateStatus (docId signed) replayed to /getEdoc returns
// the document's bytes, and a captured bodyless read of a system with the directory flag
// (getAgenciesList) replayed to /registerAgency registers any unit. Expected per the docs: refused.
// The SDK signs neither path nor body, so the likely fix is the docs (TLS and --allow-ip are the
// only defences) rather than code. Kept as t.todo: a protocol limitation, documented in
// docs/vdxp-compat.md ("What the HMAC does not cover").
t.test('a captured request cannot be replayed as another operation', { todo: todo('finding V3: the operation and JSON bodies are not signed') }, async (t) => {
  const f = await vdxpHub(t)
  const { deliveryId } = await sentAtoB(f, 9603)
  const pairs: Array<[string, string]> = [['systemid', 'sys.b'], ['status', 'processing'], ['docId', deliveryId], ['timestamp', '07122026T010000+0002'], ['Content-Type', 'application/json']]
  const captured = { systemId: 'sys.b', secret: f.secrets['sys.b'], signHeader: signHeaderOf(pairs), body: Buffer.from('{}') }
  t.match((await rawCall(f.endpoint, 'updateStatus', captured)).json, { status: 'OK' }, 'the original updateStatus (processing: reads nothing)')
  const replayed = await rawCall(f.endpoint, 'getEdoc', captured)
  t.equal(replayed.json?.data, undefined, 'the capture replayed to getEdoc does not disclose the document')

  const read = { systemId: 'sys.b', secret: f.secrets['sys.b'], signHeader: signHeaderOf([['systemid', 'sys.b'], ['timestamp', '07122026T010000+0003'], ['Content-Type', 'application/json']]) }
  t.match((await rawCall(f.endpoint, 'getAgenciesList', read)).json, { status: 'OK' }, 'the original read')
  const write = await rawCall(f.endpoint, 'registerAgency', { ...read, body: Buffer.from(JSON.stringify({ code: '000.09.00.G12', name: 'Replayed' })) })
  t.notMatch(write.json, { status: 'OK' }, 'the read replayed as registerAgency with a body of the attacker\'s choice is refused')
})
