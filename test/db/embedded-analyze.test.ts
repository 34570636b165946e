import t from 'tap'
import type { Queryable } from '../../src/db/database.js'
import { analyzeGrownTables, startEmbeddedAnalyze } from '../../src/db/embedded-analyze.js'
import { DUPLICATE_AND_AGENCIES_SQL } from '../../src/store/documents.js'
import { testPglite } from '../helpers/database.js'

// PGlite has no autovacuum. Without statistics the accept path's duplicate check read every
// earlier document of the sender (src/db/embedded-analyze.ts); with them, one row.

const SENDER = '000.00.00.G22'

async function addDocuments (db: Queryable, from: number, to: number): Promise<void> {
  // Rows as the accept path stores them (each with its acceptance receipt, which the check joins).
  await db.query(`INSERT INTO documents (id, kind, sender_code, edxml_document_id, digest_sha256, size_bytes, raw, envelope, signer, algorithms, accepted_at)
    SELECT md5('doc' || g)::uuid, 'document', $3, 'doc-' || g, md5(g::text), 5000, decode(repeat('ab', 2500), 'hex'), '{}', '{}', '{}', now()
    FROM generate_series($1::int, $2::int) g`, [from, to, SENDER])
  await db.query(`INSERT INTO receipts (id, document_id, delivery_id, kind, xml)
    SELECT md5('receipt' || g)::uuid, md5('doc' || g)::uuid, NULL, 'acceptance', '<Receipt/>' FROM generate_series($1::int, $2::int) g`, [from, to])
}

interface PlanNode { 'Node Type': string, 'Relation Name'?: string, 'Index Name'?: string, 'Actual Rows': number, 'Actual Loops': number, 'Rows Removed by Filter'?: number, 'Rows Removed by Index Recheck'?: number, Plans?: PlanNode[] }

/** Rows of `documents` the duplicate check of a new document (no match) reads, from EXPLAIN ANALYZE. */
async function documentRowsRead (db: Queryable): Promise<{ read: number, indexes: string[] }> {
  const { rows } = await db.query<Record<string, unknown>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${DUPLICATE_AND_AGENCIES_SQL}`,
    ['no-such-digest', SENDER, 'no-such-document', 'document', ['000.00.00.H29']])
  const raw = Object.values(rows[0] as object)[0]
  const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode }>
  let read = 0
  const indexes: string[] = []
  const walk = (node: PlanNode): void => {
    if (node['Index Name']?.startsWith('documents') === true) indexes.push(node['Index Name'])
    if (node['Relation Name'] === 'documents' || node['Index Name']?.startsWith('documents') === true) {
      read += (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * node['Actual Loops']
    }
    for (const child of node.Plans ?? []) walk(child)
  }
  walk((plan[0] as { Plan: PlanNode }).Plan)
  return { read, indexes }
}

t.test('the embedded database analyses grown tables: the duplicate check reads one row, not the sender\'s history', async (t) => {
  const db = await testPglite(t)
  await db.query('INSERT INTO agencies (code, name, delivery_mode) VALUES ($1, \'G22\', \'pull\'), (\'000.00.00.H29\', \'H29\', \'pull\')', [SENDER])
  await addDocuments(db, 1, 6000)

  const before = await documentRowsRead(db)
  t.comment(`without statistics the check reads ${before.read} document rows (indexes: ${before.indexes.join(', ') || 'none, a sequential scan'})`)

  const analysed = await analyzeGrownTables(db)
  t.ok(analysed.includes('documents'), `documents analysed (${analysed.join(', ')})`)
  t.ok(analysed.includes('receipts'), 'receipts analysed')
  const after = await documentRowsRead(db)
  t.ok(after.read <= 2, `with statistics the check reads ${after.read} document rows (indexes: ${after.indexes.join(', ')})`)
  t.ok(after.indexes.includes('documents_sender_edxml_id'), 'through the unique (sender, DocumentId) index')

  t.same(await analyzeGrownTables(db), [], 'nothing grew since: nothing analysed again')
  await addDocuments(db, 6001, 7000)
  t.ok((await analyzeGrownTables(db)).includes('documents'), 'documents grown by a sixth: analysed again')
})

t.test('the round runs on its own timer and stop() waits for it', async (t) => {
  const db = await testPglite(t)
  await db.query('INSERT INTO agencies (code, name, delivery_mode) VALUES ($1, \'G22\', \'pull\')', [SENDER])
  await addDocuments(db, 1, 2000)
  const relpages = async (): Promise<number> => (await db.query<{ p: number }>("SELECT relpages::int AS p FROM pg_class WHERE relname = 'documents' AND relnamespace = current_schema()::regnamespace")).rows[0]?.p ?? -1
  t.equal(await relpages(), 0, 'no statistics yet')
  const task = startEmbeddedAnalyze(db, 50)
  const deadline = Date.now() + 20_000
  while (await relpages() <= 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  await task.stop()
  t.ok(await relpages() > 0, 'the timer analysed documents')
})
