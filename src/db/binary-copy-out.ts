import type pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'

/**
 * `COPY (select) TO STDOUT (FORMAT binary)` on one connection, as the chunks pg-copy-streams
 * receives: the server keeps producing rows while the caller decodes the previous chunks, and the
 * stream's backpressure bounds the memory whatever the row count (Queryable.copyBinaryOut).
 */
export async function * binaryCopyOut (client: pg.ClientBase, select: string): AsyncGenerator<Buffer> {
  for await (const chunk of client.query(copyTo(`COPY (${select}) TO STDOUT (FORMAT binary)`))) yield chunk as Buffer
}

/**
 * binaryCopyOut on a connection of the pool, returned when the COPY was read to its end; a COPY
 * abandoned half-way (or failed) destroys the connection instead of returning it to the pool in
 * the middle of a COPY.
 */
export async function * pooledBinaryCopyOut (pool: pg.Pool, select: string): AsyncGenerator<Buffer> {
  const client = await pool.connect()
  let done = false
  try {
    yield * binaryCopyOut(client, select)
    done = true
  } finally {
    client.release(done ? undefined : true)
  }
}
