import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { testDatabase } from '../helpers/database.js'

// Large bytea values go to PostgreSQL by binary COPY in pieces (src/db/bytea-copy.ts): what
// arrives must be exactly what was sent, inside the caller's transaction.

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

t.test('uploadBytea: exact bytes, whatever the size, shared memory included; gone at commit', async (t) => {
  const db = await testDatabase(t)
  await db.query('CREATE TABLE blobs (id int PRIMARY KEY, b bytea)')
  const inShared = (b: Buffer): Buffer => { const s = Buffer.from(new SharedArrayBuffer(b.length)); b.copy(s); return s }
  const cases = [
    { id: 1, bytes: Buffer.alloc(0) },
    { id: 2, bytes: randomBytes(1) },
    { id: 3, bytes: randomBytes(64 * 1024) },
    { id: 4, bytes: randomBytes(64 * 1024 + 1) },
    { id: 5, bytes: inShared(randomBytes(3 * 1024 * 1024 + 7)) }
  ]
  for (const c of cases) {
    await db.transaction(async (tx) => {
      t.ok(tx.uploadBytea, 'PostgreSQL transactions can upload')
      await tx.uploadBytea!(c.bytes)
      await tx.query('INSERT INTO blobs (id, b) SELECT $1, b FROM lienthong_upload', [c.id])
    })
    const { rows } = await db.query<{ b: Uint8Array }>('SELECT b FROM blobs WHERE id = $1', [c.id])
    t.equal(sha(rows[0]!.b), sha(c.bytes), `${c.bytes.length} bytes arrive unchanged`)
  }
  await t.rejects(db.query('SELECT 1 FROM lienthong_upload'), /does not exist/, 'the upload table is dropped at commit')
})

t.test('a failed transaction leaves nothing behind', async (t) => {
  const db = await testDatabase(t)
  await db.query('CREATE TABLE blobs (id int PRIMARY KEY, b bytea)')
  await t.rejects(db.transaction(async (tx) => {
    await tx.uploadBytea!(randomBytes(200_000))
    await tx.query('INSERT INTO blobs (id, b) SELECT 1, b FROM lienthong_upload')
    throw new Error('changed my mind')
  }), /changed my mind/)
  t.same((await db.query('SELECT id FROM blobs')).rows, [])
})
