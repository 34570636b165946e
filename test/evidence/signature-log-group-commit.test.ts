import t from 'tap'
import { createHash } from 'node:crypto'
import type { Database } from '../../src/db/database.js'
import { appendSignatureLog, type SignatureLogEntryInput } from '../../src/evidence/signature-log.js'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { callAppend, GROUP_MAX_ITEMS, SignatureLogSequencer, type AppendStep } from '../../src/evidence/signature-log-sequencer.js'
import { testDatabase, testPglite, type TeardownHost } from '../helpers/database.js'

// Group commit of the signature-log sequencer (migration 027), on both supported databases.

let serial = 0
function entry (): SignatureLogEntryInput {
  serial++
  return {
    requestId: `group-${serial}`,
    claimedAgency: '000.00.00.G22',
    edxmlDocumentId: `000.00.00.G22,2026/12/07,${serial}/GC`,
    digestSha256: createHash('sha256').update(`grouped ${serial}`).digest('hex'),
    sizeBytes: 200 + serial,
    algorithms: { signature: 'rsa-sha256', digest: 'sha256' },
    verdict: 'rejected',
    reasonCode: 'DIGEST_MISMATCH',
    detail: `Ký tự "lạ" ${serial}`,
    flags: serial % 2 === 0 ? ['weak'] : []
  }
}

/** A gate the prepare steps wait on: every slot is taken before any is written. */
function gate (): { wait: () => Promise<void>, open: () => void } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => { open = resolve })
  return { wait: async () => await opened, open }
}

/** A log-only append step whose prepare waits at the gate; it answers the entry's id, alone or grouped. */
function gatedLogStep (g: { wait: () => Promise<void> }): AppendStep<void, number> {
  return {
    prepare: async () => { await g.wait() },
    write: async (prepared, _p, run) => {
      await run(async (q) => await callAppend(q, prepared), false)
      return prepared.id
    },
    group: (prepared) => ({ document: null, bytes: prepared.canonical.length, result: prepared.id })
  }
}

/** Statements the sequencer sent: one per group, one per slot written alone. */
const statements = (s: SignatureLogSequencer): number => s.groupStats.groups + (s.stats.appended - s.groupStats.grouped)

const databases: Array<{ name: string, open: (t: TeardownHost) => Promise<Database> }> = [
  { name: 'PostgreSQL', open: async (t) => await testDatabase(t) },
  { name: 'PGlite', open: async (t) => await testPglite(t) }
]

for (const { name, open } of databases) {
  t.test(`${name}: slots ready together are written in one statement, in slot order`, async (t) => {
    const db = await open(t)
    const sequencer = new SignatureLogSequencer(db)
    const g = gate()
    const count = 30
    const appended = Array.from({ length: count }, async () => await sequencer.append(entry(), gatedLogStep(g)))
    g.open()
    const ids = await Promise.all(appended)
    t.same([...ids].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i + 1))
    t.ok(sequencer.groupStats.groups >= 1, `grouped: ${JSON.stringify(sequencer.groupStats)}`)
    t.ok(statements(sequencer) < count, `${statements(sequencer)} statements for ${count} entries`)
    t.same(sequencer.stats, { appended: count, stale: 0, locked: 0, backoffs: 0 })
    t.match(await verifySignatureLogChain(db), { ok: true, entries: count })
  })

  t.test(`${name}: a group is bounded to GROUP_MAX_ITEMS slots`, async (t) => {
    const db = await open(t)
    const sequencer = new SignatureLogSequencer(db)
    const g = gate()
    const count = GROUP_MAX_ITEMS * 2 + 5
    const appended = Array.from({ length: count }, async () => await sequencer.append(entry(), {
      prepare: async () => { await g.wait() },
      write: async (prepared, _p, run) => { await run(async (q) => await callAppend(q, prepared), false) },
      group: (prepared) => ({ document: null, bytes: prepared.canonical.length, result: undefined })
    }))
    g.open()
    await Promise.all(appended)
    t.ok(sequencer.groupStats.groups >= 2, `at least two groups: ${JSON.stringify(sequencer.groupStats)}`)
    t.ok(sequencer.groupStats.grouped <= sequencer.groupStats.groups * GROUP_MAX_ITEMS)
    t.match(await verifySignatureLogChain(db), { ok: true, entries: count })
  })

  t.test(`${name}: a slot that cannot be grouped (a large document) is written alone between groups`, async (t) => {
    const db = await open(t)
    const sequencer = new SignatureLogSequencer(db)
    const g = gate()
    const count = 20
    const alone = 9
    let aloneWrites = 0
    const appended = Array.from({ length: count }, async (_, i) => await sequencer.append(entry(), {
      prepare: async () => { await g.wait() },
      write: async (prepared, _p, run) => {
        if (i === alone) aloneWrites++
        await run(async (q) => await callAppend(q, prepared), false)
        return prepared.id
      },
      group: (prepared) => i === alone ? undefined : { document: null, bytes: prepared.canonical.length, result: prepared.id }
    }))
    g.open()
    const ids = await Promise.all(appended)
    t.same(ids, Array.from({ length: count }, (_, i) => i + 1), 'every slot kept its place in the chain')
    t.equal(aloneWrites, 1, 'the ungroupable slot went by its own write')
    // The first slot ready goes at once (no timer); the rest are ready before it commits.
    t.same(sequencer.groupStats, { groups: 2, grouped: count - 2, fallbacks: 0 }, 'the first slot and the ungroupable one alone, a group before and after it')
    t.match(await verifySignatureLogChain(db), { ok: true, entries: count })
  })

  t.test(`${name}: a head moved by another appender refuses the whole group; every slot starts over and the chain holds`, async (t) => {
    const db = await open(t)
    const sequencer = new SignatureLogSequencer(db)
    await sequencer.appendEntry(entry())
    const g = gate()
    const count = 12
    const appended = Array.from({ length: count }, async () => await sequencer.append(entry(), gatedLogStep(g)))
    // Every slot is taken on head 1; the other appender moves the head before any is written.
    await db.transaction(async (tx) => await appendSignatureLog(tx, entry()))
    g.open()
    const ids = await Promise.all(appended)
    t.same([...ids].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i + 3), 'appended after the foreign entry (id 2)')
    t.ok(sequencer.stats.stale >= count, `every slot was refused once (${sequencer.stats.stale} refusals)`)
    t.equal(sequencer.groupStats.fallbacks, 0, 'a stale group is not retried one by one')
    t.match(await verifySignatureLogChain(db), { ok: true, entries: count + 2 })
  })

  t.test(`${name}: one failing item rolls its group back; the others are written, it alone fails`, async (t) => {
    const db = await open(t)
    const sequencer = new SignatureLogSequencer(db)
    const g = gate()
    const count = 10
    const bad = 5
    const appended = Array.from({ length: count }, async (_, i) => await sequencer.append(entry(), {
      prepare: async () => { await g.wait() },
      write: async (prepared, _p, run) => {
        // Alone, the bad item fails as the database refuses it (an entry hash that does not match).
        await run(async (q) => await callAppend(q, i === bad ? { ...prepared, entryHash: '0'.repeat(64) } : prepared), false)
        return i
      },
      // In the group it carries a document the function cannot store (no such columns' values).
      group: (prepared) => i === bad
        ? { document: { id: 'not-a-uuid' }, bytes: 1, result: i }
        : { document: null, bytes: prepared.canonical.length, result: i }
    }))
    g.open()
    const results = await Promise.allSettled(appended)
    const failed = results.flatMap((r, i) => r.status === 'rejected' ? [i] : [])
    t.same(failed, [bad], 'only the bad item failed')
    t.ok(sequencer.groupStats.fallbacks >= 1, `the group was rolled back and written one by one: ${JSON.stringify(sequencer.groupStats)}`)
    t.match(await verifySignatureLogChain(db), { ok: true, entries: count - 1 })
  })
}
