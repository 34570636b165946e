import t from 'tap'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { createApiKey } from '../../src/store/credentials.js'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { startPeerGateway, type Answer } from '../helpers/peer-gateway.js'

// Outsider review of /peer with the streaming verifier (attack-vdxp session): a peer sending the
// same hop many times at once (its retries racing, or on purpose), with the same Idempotency-Key
// and with fresh ones. Expected: one document, one status event, one delivery; every answer a
// 2xx or a retryable refusal, never a 500. FINDING P2 (low): on the reviewed code the losers of
// the race hit a unique violation (peer_arrivals, documents) and answered 500 INTERNAL (5 of 6
// with one key; 1 of 6 with fresh keys, whose hop then had no arrival to answer a retry from),
// each after a full verification; the local accept path already answered such a loser as a
// duplicate. Fixed in accept-forwarded.ts (the loser answers from what the winner stored).
// Same gateway as attack-peer.test.ts (hub-3 serves G12
// and H41; hub-2 is the path to G22), real mutual TLS.

const LOCAL = '000.00.00.G12'
const LOCAL_SENDER = '000.00.00.H41'
const REMOTE = '000.00.00.G22'
const T = '2026-05-01T10:00:00.000Z'

t.test('a peer hub racing itself on /peer', async (t) => {
  const { app, hub2, db, post, count } = await startPeerGateway(t, { agencies: [LOCAL, LOCAL_SENDER], remote: REMOTE })
  const hops = (...entries: Array<string | [string, string]>): string => entries.map((e) => typeof e === 'string' ? `${e};${T}` : `${e[0]};${e[1]}`).join(', ')

  // H41 sends D to G22 through hub-2; G22's status comes back from hub-2 (the path D took).
  const key = (await createApiKey(db, LOCAL_SENDER, 'race')).key
  const outgoing = documentFromTo(LOCAL_SENDER, REMOTE, 61)
  const sent = await app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, payload: outgoing })
  t.equal(sent.statusCode, 202, sent.body)
  const answered = answeredDocumentOf(outgoing)
  if (answered == null) throw new Error('no answered document')
  const status = await signAsDemoAgency(REMOTE, status03({ code: REMOTE, name: REMOTE }, answered))
  const statuses = async (): Promise<number> => await count('SELECT count(*) AS n FROM documents WHERE kind = \'status\'')

  const burst = async (keys: string[]): Promise<Answer[]> => await Promise.all(keys.map(async (k) => await post(status, { 'idempotency-key': k, 'lienthong-recipient': LOCAL_SENDER, 'lienthong-hops': hops('hub-2') }, hub2)))
  const acceptable = (a: Answer): boolean => a.status === 200 || a.status === 202 || ((a.status === 409 || a.status === 503) && a.json.code !== 'INTERNAL')

  const sameKey = await burst(Array.from({ length: 6 }, () => 'race-1'))
  t.ok(sameKey.every(acceptable), `same key: ${sameKey.map((a) => `${a.status} ${String(a.json.code ?? '')}`).join(', ')}`)
  t.ok(sameKey.some((a) => a.status === 202), 'one of them accepted it')
  t.equal(await statuses(), 1, 'one status stored')

  const freshKeys = await burst(Array.from({ length: 6 }, (_, i) => `race-2-${i}`))
  t.ok(freshKeys.every(acceptable), `fresh keys: ${freshKeys.map((a) => `${a.status} ${String(a.json.code ?? '')}`).join(', ')}`)
  t.equal(await statuses(), 1, 'still one status stored')
  t.equal(await count('SELECT count(*) AS n FROM status_events'), 1, 'one status event on D')
  t.equal(await count('SELECT count(*) AS n FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE d.kind = \'status\''), 1, 'one delivery of it to H41')

  // A second document and its status, the burst with fresh keys first (all of them new to the hub).
  const outgoing2 = documentFromTo(LOCAL_SENDER, REMOTE, 62)
  t.equal((await app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, payload: outgoing2 })).statusCode, 202)
  const answered2 = answeredDocumentOf(outgoing2)
  if (answered2 == null) throw new Error('no answered document')
  const status2 = await signAsDemoAgency(REMOTE, status03({ code: REMOTE, name: REMOTE }, answered2))
  const fresh2 = await Promise.all(Array.from({ length: 6 }, async (_, i) => await post(status2, { 'idempotency-key': `race-3-${i}`, 'lienthong-recipient': LOCAL_SENDER, 'lienthong-hops': hops('hub-2') }, hub2)))
  t.ok(fresh2.every(acceptable), `fresh keys, new status: ${fresh2.map((a) => `${a.status} ${String(a.json.code ?? '')}`).join(', ')}`)
  t.equal(fresh2.filter((a) => a.status === 202).length, 1, 'exactly one accepted it')
  t.equal(await statuses(), 2, 'one more status stored')
  t.equal(await count('SELECT count(*) AS n FROM peer_arrivals WHERE idempotency_key LIKE \'race-3-%\''), 6, 'every hop answered has its arrival (a retry gets the same answer)')
  t.match(await verifySignatureLogChain(db), { ok: true }, 'the signature log chain holds')
})
