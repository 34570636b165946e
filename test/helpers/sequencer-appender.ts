// A separate process appending to one test schema's signature log through its own sequencer, as a
// second gateway would (test/evidence/signature-log-sequencer.test.ts starts two). Arguments:
// schema, appends, concurrency (slots in flight), back-off bound in ms, prepare time in ms (the
// receipt signing between slot and write). Prints the sequencer's counters as one JSON line.
import { createHash } from 'node:crypto'
import { openPostgres } from '../../src/db/postgres-database.js'
import { SignatureLogSequencer } from '../../src/evidence/signature-log-sequencer.js'
import { callAppend } from '../../src/evidence/signature-log-sequencer.js'

// The database from the parent test (TEST_DATABASE_URL of test/helpers/database.ts, passed in the
// environment), not imported from there: that module loads PGlite, 0.2 s of CPU per process for nothing.
const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? ''
const [schema = '', appends = '100', concurrency = '8', backoffMaxMs = '16', prepareMs = '1'] = process.argv.slice(2)
const db = await openPostgres({ connectionString: TEST_DATABASE_URL, schema })
const sequencer = new SignatureLogSequencer(db, { backoffMaxMs: Number(backoffMaxMs) })
let next = 0
const started = performance.now()
await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
  while (next < Number(appends)) {
    const n = next++
    await sequencer.append({
      requestId: `${process.pid}-${n}`,
      claimedAgency: '000.00.00.G22',
      edxmlDocumentId: `000.00.00.G22,2026/12/07,${process.pid}-${n}/VPCP`,
      digestSha256: createHash('sha256').update(`${process.pid} ${n}`).digest('hex'),
      sizeBytes: 100,
      algorithms: { signature: 'rsa-sha256', digest: 'sha256' },
      verdict: 'accepted',
      flags: []
    }, {
      prepare: async () => { await new Promise((resolve) => setTimeout(resolve, Number(prepareMs))) },
      write: async (prepared, _p, run) => { await run(async (q) => await callAppend(q, prepared), false) }
    })
  }
}))
process.stdout.write(JSON.stringify({ ...sequencer.stats, ms: Math.round(performance.now() - started) }) + '\n')
await db.close()
