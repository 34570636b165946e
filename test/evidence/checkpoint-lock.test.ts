import t from 'tap'
import { issueCheckpoint } from '../../src/evidence/signature-log-checkpoints.js'
import { testDatabase } from '../helpers/database.js'
import { exampleHubIdentity } from '../helpers/hub.js'

// Two workers of one hub (one schema) never issue a checkpoint at the same moment; hubs whose logs
// live in other schemas of the same database are not held up by it. The suite relies on the second
// half: its workers run beside the checkpoint tests, each in a schema of one database.

const hub = await exampleHubIdentity()

t.test('the checkpoint lock keeps one schema\'s issuers apart and no other schema\'s', async (t) => {
  const mine = await testDatabase(t)
  const other = await testDatabase(t)
  // A transaction of `mine` holding the lock the way an issuing worker does, until released.
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  let held: () => void = () => {}
  const holding = new Promise<void>((resolve) => { held = resolve })
  const holder = mine.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(727003, hashtext(current_schema()))')
    held()
    await released
  })
  await holding
  try {
    t.same(await issueCheckpoint(mine, hub), { issued: false, reason: 'another checkpoint is being issued' }, 'same schema: refused while another issues')
    t.match(await issueCheckpoint(other, hub), { issued: true, stored: { signed: { checkpoint: { entries: 0 } } } }, 'another schema: issued')
  } finally {
    release()
    await holder
  }
  t.match(await issueCheckpoint(mine, hub), { issued: true }, 'same schema once the other issuer is done')
})
