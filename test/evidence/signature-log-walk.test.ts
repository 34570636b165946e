import t, { type Test } from 'tap'
import type { Database } from '../../src/db/database.js'
import { GENESIS_HASH, verifySignatureLogChain, walkSignatureLog } from '../../src/evidence/signature-log-chain.js'
import { verifySignatureLogRange } from '../../src/evidence/signature-log-integrity.js'
import { bulkAppend } from '../helpers/signature-log-bulk.js'
import { testDatabase, testPglite } from '../helpers/database.js'

// Breaks on either side of a batch boundary (the last entry of a batch, the first of the next):
// where an off-by-one in the keyset walk would skip or double-count an entry. (A break in the
// middle of a 1,000,000-entry chain is checked by bench/audit.)
type Tamper = 'modified' | 'deleted' | 'prev_hash changed'
const TAMPER: Record<Tamper, { sql: string, reason: 'hash-mismatch' | 'link-broken', undo: string }> = {
  modified: { sql: "UPDATE signature_log SET detail = 'rewritten' WHERE id = $1", reason: 'hash-mismatch', undo: 'UPDATE signature_log SET detail = NULL WHERE id = $1' },
  deleted: { sql: 'DELETE FROM signature_log WHERE id = $1', reason: 'link-broken', undo: '' },
  'prev_hash changed': { sql: "UPDATE signature_log SET prev_hash = repeat('f', 64) WHERE id = $1", reason: 'link-broken', undo: '' }
}

/** Tampers with entry `id`, expects the walk to report it with `id - 1` entries intact, restores. */
async function expectBreak (t: Tap, db: Database, id: number, tamper: Tamper, batchSize: number): Promise<void> {
  const { rows: [saved] } = await db.query<Record<string, unknown>>('SELECT * FROM signature_log WHERE id = $1', [id])
  await db.query(TAMPER[tamper].sql, [id])
  const what = `${tamper} entry #${id}, batches of ${batchSize}`
  // With an entry deleted, the next one is the first that no longer links.
  const brokenId = tamper === 'deleted' ? id + 1 : id
  t.match(await verifySignatureLogChain(db, { batchSize }), { ok: false, entries: id - 1, firstBrokenId: brokenId, reason: TAMPER[tamper].reason }, what)
  t.match(await verifySignatureLogRange(db, { fromId: 2, batchSize }), { ok: false, checked: id - 2, firstId: 2, broken: { id: brokenId, reason: TAMPER[tamper].reason } }, `${what}: the integrity endpoint's range check`)
  // Restore the row as it was (the trigger that forbids it is off in these tests).
  await db.query('DELETE FROM signature_log WHERE id = $1', [id])
  const columns = Object.keys(saved as object)
  await db.query(`INSERT INTO signature_log (${columns.join(', ')}) SELECT * FROM jsonb_populate_record(NULL::signature_log, $1::jsonb)`, [JSON.stringify(saved)])
}
type Tap = Pick<Test, 'match' | 'teardown'>

for (const [name, open] of [['PostgreSQL', testDatabase], ['PGlite', testPglite]] as const) {
  t.test(`${name}: a break just before, at and just after a batch boundary is found at its entry`, async (t) => {
    const db = await open(t)
    const { lastId } = await bulkAppend(db, 40, () => ({}))
    await db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
    for (const batchSize of [7, 10]) {
      for (const id of [batchSize, batchSize + 1, 2 * batchSize]) {
        for (const tamper of Object.keys(TAMPER) as Tamper[]) await expectBreak(t, db, id, tamper, batchSize)
      }
    }
    t.match(await verifySignatureLogChain(db, { batchSize: 10 }), { ok: true, entries: 40, headId: lastId }, 'restored: intact, 40 = 4 full batches')
    t.match(await walkSignatureLog(db, { batchSize: 10, afterId: 10, toId: 20 }), { entries: 0, firstId: 11, lastId: null, broken: { id: 11, reason: 'link-broken', expected: GENESIS_HASH } }, 'a walk from the middle without its anchor breaks at once')
  })
}

t.test('PGlite: a batch returned whole is decoded in slices, rows straddling them included', async (t) => {
  const db = await testPglite(t)
  // ~600 bytes of COPY per entry: 5,000 entries are ~3 MB, several 1 MB slices of one batch.
  await bulkAppend(db, 5000, (i) => ({ detail: `entry ${i} `.padEnd(300, '.') }))
  t.match(await verifySignatureLogChain(db, { batchSize: 5000 }), { ok: true, entries: 5000, headId: 5000 })
  await db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
  await db.query("UPDATE signature_log SET detail = 'rewritten' WHERE id = 4321")
  t.match(await verifySignatureLogChain(db, { batchSize: 5000 }), { ok: false, entries: 4320, firstBrokenId: 4321, reason: 'hash-mismatch' })
})
