/**
 * The one database interface the rest of the code uses, implemented by real PostgreSQL (`pg`)
 * and by embedded PGlite (the zero-setup default). Same SQL, same migrations on both.
 */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: T[] }>
  /**
   * PostgreSQL transactions only: puts a large bytea into the transaction's temporary table
   * `lienthong_upload` (column `b`) without assembling it as one parameter (bytea-copy.ts).
   */
  uploadBytea?: (bytes: Buffer) => Promise<void>
  /**
   * `COPY (select) TO … (FORMAT binary)`: the output as chunks of PostgreSQL's binary COPY
   * format. PostgreSQL streams it (memory bounded by the stream); PGlite returns it whole, so the
   * caller bounds it (LIMIT). COPY takes no parameters: `select` must be built only from constant
   * SQL and validated integers. Read every chunk: a COPY left half-read breaks the connection.
   */
  copyBinaryOut?: (select: string) => AsyncIterable<Buffer>
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite'
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  /** Several statements at once, no parameters (migrations). */
  exec(sql: string): Promise<void>
  close(): Promise<void>
}

export class DatabaseUnavailableError extends Error {
  constructor (message: string, override readonly cause?: unknown) {
    super(message)
    this.name = 'DatabaseUnavailableError'
  }
}
