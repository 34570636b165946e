import t from 'tap'
import type { Database } from '../../src/db/database.js'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { sequencerFor } from '../../src/evidence/signature-log-sequencer.js'
import { issueReceipt, type ReceiptFields } from '../../src/evidence/receipts.js'
import { testDatabase, testPglite, type TeardownHost } from '../helpers/database.js'
import { exampleHubIdentity, testHub } from '../helpers/hub.js'
import { signedDocuments } from '../helpers/ops-fixtures.js'

// Real documents through the gateway, stored by the group commit (migration 027): the rows a group
// writes are the rows lienthong_accept_document writes, and a duplicate inside a group fails alone.

const G22 = '000.00.00.G22'

interface Body { id: string, duplicate: boolean, signatureLogEntry: number, receipt: string }

const databases: Array<{ name: string, open: (t: TeardownHost) => Promise<Database> }> = [
  { name: 'PostgreSQL', open: async (t) => await testDatabase(t) },
  { name: 'PGlite', open: async (t) => await testPglite(t) }
]

for (const { name, open } of databases) {
  t.test(`${name}: concurrent accepts are stored in groups; a racing duplicate in the group fails alone`, async (t) => {
    const db = await open(t)
    const hub = await exampleHubIdentity()
    const documents = signedDocuments(7100, 8)
    // Every receipt of a round waits until all its submissions are being signed: their slots are
    // taken together (twins both pass the duplicate check) and become ready together.
    let round = { expected: 0, waiting: 0, release: () => {}, allIn: Promise.resolve() }
    const signReceipt = async (fields: ReceiptFields): Promise<string> => {
      const r = round
      if (++r.waiting === r.expected) r.release()
      await r.allIn
      return issueReceipt(fields, hub)
    }
    const { app, keys } = await testHub(t, { db, redisUrl: null, signReceipt })
    const postTogether = async (payloads: Buffer[]): Promise<Array<{ statusCode: number, body: Body }>> => {
      let release!: () => void
      const allIn = new Promise<void>((resolve) => { release = resolve })
      round = { expected: payloads.length, waiting: 0, release, allIn }
      const responses = await Promise.all(payloads.map(async (payload) => await app.inject({
        method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${keys[G22]}` }, payload
      })))
      return responses.map((r) => ({ statusCode: r.statusCode, body: r.json<Body>() }))
    }
    const sequencer = sequencerFor(db)

    const first = await postTogether(documents.slice(0, 6).map((d) => d.bytes))
    t.same(first.map((r) => r.statusCode), first.map(() => 202), JSON.stringify(first.filter((r) => r.statusCode !== 202)))
    t.ok(sequencer.groupStats.groups >= 1 && sequencer.groupStats.grouped >= 2, `grouped: ${JSON.stringify(sequencer.groupStats)}`)
    t.equal(sequencer.groupStats.fallbacks, 0)

    // Document 7 twice, and document 8: the twins' group is rolled back and written one by one.
    const second = await postTogether([documents[6]!.bytes, documents[6]!.bytes, documents[7]!.bytes])
    t.same(second.map((r) => r.statusCode).sort(), [200, 202, 202], 'two accepted, one duplicate (200)')
    const twins = [second[0]!.body, second[1]!.body]
    t.same(twins.map((b) => b.duplicate).sort(), [false, true], 'one of the twins is the document, the other its duplicate')
    t.equal(twins[0]!.id, twins[1]!.id, 'the duplicate names the document')
    t.ok(sequencer.groupStats.fallbacks >= 1, `the group holding both twins was rolled back and written one by one: ${JSON.stringify(sequencer.groupStats)}`)
    const bodies = [...first.map((r) => r.body), twins.find((b) => !b.duplicate)!, second[2]!.body]

    // What a group wrote, field by field, for every document.
    for (const [i, d] of documents.entries()) {
      const body = bodies[i]!
      const { rows } = await db.query<{ raw: Uint8Array, size_bytes: number, digest_sha256: string, edxml_document_id: string, sender_code: string, kind: string, signature_log_id: number, envelope: { documentId?: string }, signer: { chain?: unknown }, algorithms: unknown, flags: string[] }>(
        'SELECT raw, size_bytes, digest_sha256, edxml_document_id, sender_code, kind, signature_log_id, envelope, signer, algorithms, flags FROM documents WHERE id = $1', [body.id])
      const row = rows[0]
      t.ok(row != null && Buffer.from(row.raw).equals(d.bytes), `document ${d.n}: the exact bytes`)
      t.match(row, { size_bytes: d.bytes.length, digest_sha256: d.sha256, edxml_document_id: d.edxmlDocumentId, sender_code: G22, kind: 'document', signature_log_id: body.signatureLogEntry, envelope: { documentId: d.edxmlDocumentId } })
      t.ok(row?.signer.chain != null && row.algorithms != null && Array.isArray(row.flags), `document ${d.n}: signer, chain, algorithms, flags stored`)
      const deliveries = await db.query<{ recipient_code: string, route_kind: string, route_source: string, route_rule: string, state: string }>(
        'SELECT recipient_code, route_kind, route_source, route_rule, state FROM deliveries WHERE document_id = $1 ORDER BY recipient_code', [body.id])
      t.same(deliveries.rows.map((r) => [r.recipient_code, r.route_kind, r.route_source, r.route_rule]), [...d.recipients].sort().map((c) => [c, 'local', 'agency', c]), `document ${d.n}: its deliveries`)
      const receipts = await db.query<{ xml: string }>('SELECT xml FROM receipts WHERE document_id = $1 AND kind = \'acceptance\'', [body.id])
      t.same(receipts.rows.map((r) => r.xml), [body.receipt], `document ${d.n}: the receipt answered is the one stored`)
    }
    const log = await db.query<{ verdict: string }>('SELECT verdict FROM signature_log ORDER BY id')
    t.same(log.rows.map((r) => r.verdict).sort(), [...documents.map(() => 'accepted'), 'duplicate'].sort(), 'one entry per attempt')
    t.match(await verifySignatureLogChain(db), { ok: true, entries: documents.length + 1 })
  })
}
