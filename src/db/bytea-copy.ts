import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { PoolClient } from 'pg'
import { from as copyFrom } from 'pg-copy-streams'

/**
 * A large bytea value sent to PostgreSQL in 64 KB pieces with binary COPY, instead of as a query
 * parameter: pg assembles a parameter into one buffer of the whole size on the event loop (a
 * 50 MB document stalled every other request for ~200 ms doing so). The value lands in the
 * transaction's temporary table `lienthong_upload` (one row, column `b`), from which the caller
 * moves it with SQL; the table is dropped at commit.
 */
export const UPLOAD_TABLE = 'lienthong_upload'
const PIECE = 64 * 1024

export async function uploadBytea (client: PoolClient, bytes: Buffer): Promise<void> {
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${UPLOAD_TABLE} (b bytea) ON COMMIT DROP`)
  await client.query(`TRUNCATE ${UPLOAD_TABLE}`)
  await pipeline(Readable.from(binaryCopyRow(bytes)), client.query(copyFrom(`COPY ${UPLOAD_TABLE} (b) FROM STDIN (FORMAT binary)`)))
}

/** PostgreSQL's binary COPY format: header, one tuple of one field, trailer. */
function * binaryCopyRow (bytes: Buffer): Generator<Buffer> {
  const head = Buffer.alloc(11 + 4 + 4 + 2 + 4)
  head.write('PGCOPY\n\xff\r\n\0', 0, 'latin1')
  head.writeInt32BE(0, 11) // flags
  head.writeInt32BE(0, 15) // header extension length
  head.writeInt16BE(1, 19) // fields in the tuple
  head.writeInt32BE(bytes.length, 21) // field length
  yield head
  for (let at = 0; at < bytes.length; at += PIECE) yield bytes.subarray(at, Math.min(at + PIECE, bytes.length))
  const trailer = Buffer.alloc(2)
  trailer.writeInt16BE(-1, 0)
  yield trailer
}
