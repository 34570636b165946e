import t from 'tap'
import { openPostgres } from '../../src/db/postgres-database.js'
import { isUnavailableError } from '../../src/db/unavailable.js'
import { PrivatePostgres } from '../helpers/private-postgres.js'

// PostgreSQL restarting under the hub: a private cluster (initdb/pg_ctl in a temp directory)
// restarted while clients are checked out of the pool. No process may exit; the request in
// flight fails (as "unavailable"), the next one reconnects.

const cluster = await PrivatePostgres.create()
t.teardown(async () => { await cluster.destroy() })
await cluster.start()

let uncaught: unknown[] = []
const onUncaught = (err: unknown): void => { uncaught.push(err) }
process.on('uncaughtException', onUncaught)
t.teardown(() => { process.removeListener('uncaughtException', onUncaught) })

t.test('a transaction open across a restart: the process stays alive, the next transaction succeeds', async (t) => {
  for (const mode of ['restart -m fast', 'stop -m immediate + start'] as const) {
    uncaught = []
    const db = await openPostgres({ connectionString: cluster.url, max: 2 })
    let release!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    let opened!: () => void
    const isOpen = new Promise<void>((resolve) => { opened = resolve })
    const inFlight = db.transaction(async (tx) => {
      await tx.query('SELECT 1')
      opened()
      await held
      await tx.query('SELECT 2')
    })
    const outcome = inFlight.then(() => 'committed', (err: unknown) => err)
    await isOpen
    if (mode === 'restart -m fast') await cluster.restartFast()
    else {
      await cluster.stopImmediate()
      // Down: a transaction fails as unavailable, never as a crash.
      const down = await db.transaction(async (tx) => await tx.query('SELECT 1')).then(() => undefined, (err: unknown) => err)
      t.ok(isUnavailableError(down), `while down: classified as unavailable (${String(down)})`)
      await cluster.start()
    }
    // Let the terminated connection's 'error' and 'end' arrive while the client is still checked out.
    await new Promise((resolve) => setTimeout(resolve, 200))
    release()
    const result = await outcome
    t.not(result, 'committed', `${mode}: the transaction in flight failed`)
    t.ok(isUnavailableError(result), `${mode}: its error is classified as unavailable (${String(result)})`)
    const { rows } = await db.transaction(async (tx) => await tx.query<{ n: number }>('SELECT 42 AS n'))
    t.equal(rows[0]?.n, 42, `${mode}: the next transaction succeeds on a new connection`)
    t.same((await db.query<{ n: number }>('SELECT 7 AS n')).rows, [{ n: 7 }], `${mode}: pool queries succeed too`)
    t.same(uncaught, [], `${mode}: no uncaught exception`)
    await db.close()
  }
})
