/**
 * The fetched CRLs (table `crls`, one row per issuer, the newest wins) and the refresh job's
 * shared state (table `crl_refresh`: lease and last round). Written by workers, read by gateways.
 */
import type { Database, Queryable } from '../db/database.js'
import { isNewerCrl } from '../pki/crl-verify.js'
import type { VerifiedCrl } from '../pki/crl-fetch.js'

export interface StoredCrl {
  issuer: string
  sourceUrl: string
  der: Uint8Array<ArrayBuffer>
  sha256: string
  crlNumber: string | null
  thisUpdate: Date
  nextUpdate: Date | null
  fetchedAt: Date
  checkedAt: Date
}

interface CrlRow {
  issuer: string
  source_url: string
  der: Uint8Array
  sha256: string
  crl_number: string | null
  this_update: Date
  next_update: Date | null
  fetched_at: Date
  checked_at: Date
}

const COLUMNS = 'issuer, source_url, der, sha256, crl_number, this_update, next_update, fetched_at, checked_at'

function fromRow (r: CrlRow): StoredCrl {
  return {
    issuer: r.issuer,
    sourceUrl: r.source_url,
    // pg gives a Buffer (maybe a slice of a shared pool), PGlite a Uint8Array: own copy either way.
    der: new Uint8Array(r.der),
    sha256: r.sha256,
    crlNumber: r.crl_number,
    thisUpdate: new Date(r.this_update),
    nextUpdate: r.next_update == null ? null : new Date(r.next_update),
    fetchedAt: new Date(r.fetched_at),
    checkedAt: new Date(r.checked_at)
  }
}

export async function storedCrls (db: Queryable): Promise<StoredCrl[]> {
  const { rows } = await db.query<CrlRow>(`SELECT ${COLUMNS} FROM crls ORDER BY issuer`)
  return rows.map(fromRow)
}

/**
 * A short string that changes whenever the stored CRL set does: what gateways poll every minute
 * instead of reading the CRLs themselves (a handful of rows, no DER read).
 */
export async function storedCrlsVersion (db: Queryable): Promise<string> {
  const { rows } = await db.query<{ version: string | null }>("SELECT string_agg(sha256, ',' ORDER BY issuer) AS version FROM crls")
  return rows[0]?.version ?? ''
}

export type StoreOutcome =
  /** New, or newer than the one held for its issuer: now the one the gateways use. */
  | 'stored'
  /** The very CRL already held (same bytes): only checked_at moves. */
  | 'unchanged'
  /** Not newer than the one held (a rollback, or a lagging mirror): ignored. */
  | 'older'

export interface StoreResult {
  outcome: StoreOutcome
  /** The row held for the issuer after the call. */
  held: StoredCrl
}

/** Lock key for writes to `crls` (distinct from migrate.ts's 727001). */
const CRL_WRITE_LOCK = 727005

/**
 * Keeps `verified` if it is newer than the CRL held for its issuer. The comparison and the write
 * happen in one transaction under an advisory lock, so two workers storing at once cannot let an
 * older CRL overwrite a newer one.
 */
/**
 * `whenStored` runs inside the storing transaction when the CRL replaced the held one (an admin's
 * import writes its audit row there, so the import and its record commit together).
 */
export async function storeCrl (db: Database, verified: VerifiedCrl, whenStored?: (tx: Queryable) => Promise<void>): Promise<StoreResult> {
  const { crl } = verified
  return await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [CRL_WRITE_LOCK])
    const { rows } = await tx.query<CrlRow>(`SELECT ${COLUMNS} FROM crls WHERE issuer = $1`, [crl.issuer])
    const held = rows[0] == null ? undefined : fromRow(rows[0])
    if (held != null && held.sha256 === verified.sha256) {
      const touched = await tx.query<CrlRow>(`UPDATE crls SET checked_at = now() WHERE issuer = $1 RETURNING ${COLUMNS}`, [crl.issuer])
      return { outcome: 'unchanged', held: fromRow(touched.rows[0] as CrlRow) }
    }
    if (held != null && !isNewerCrl(crl, held)) return { outcome: 'older', held }
    const written = await tx.query<CrlRow>(
      `INSERT INTO crls (issuer, source_url, der, sha256, crl_number, this_update, next_update, fetched_at, checked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now())
       ON CONFLICT (issuer) DO UPDATE SET source_url = EXCLUDED.source_url, der = EXCLUDED.der, sha256 = EXCLUDED.sha256,
         crl_number = EXCLUDED.crl_number, this_update = EXCLUDED.this_update, next_update = EXCLUDED.next_update,
         fetched_at = now(), checked_at = now()
       RETURNING ${COLUMNS}`,
      [crl.issuer, verified.url, Buffer.from(crl.der), verified.sha256, crl.crlNumber, crl.thisUpdate, crl.nextUpdate ?? null]
    )
    await whenStored?.(tx)
    return { outcome: 'stored', held: fromRow(written.rows[0] as CrlRow) }
  })
}

/**
 * Takes the refresh lease if nobody holds it: true means this process runs the round. The lease
 * is a timestamp, not a lock held on a connection, so a worker that dies mid-round only delays the
 * next round until the lease runs out.
 */
export async function claimRefreshRound (db: Queryable, holder: string, leaseMs: number): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE crl_refresh SET leased_until = now() + $2::double precision * interval '1 millisecond', leased_by = $1
     WHERE id = 1 AND leased_until <= now() RETURNING id`,
    [holder, leaseMs]
  )
  return rows.length > 0
}

export interface RefreshFailure {
  url: string
  code: string
  message: string
}

export interface RefreshStatus {
  lastRoundAt: Date | null
  leasedBy: string | null
  failures: RefreshFailure[]
}

export async function recordRefreshRound (db: Queryable, failures: readonly RefreshFailure[]): Promise<void> {
  await db.query('UPDATE crl_refresh SET last_round_at = now(), last_failures = $1::jsonb WHERE id = 1', [JSON.stringify(failures)])
}

export async function refreshStatus (db: Queryable): Promise<RefreshStatus> {
  const { rows } = await db.query<{ last_round_at: Date | null, leased_by: string | null, last_failures: unknown }>(
    'SELECT last_round_at, leased_by, last_failures FROM crl_refresh WHERE id = 1'
  )
  const row = rows[0]
  const failures = typeof row?.last_failures === 'string' ? JSON.parse(row.last_failures) as unknown : row?.last_failures
  return {
    lastRoundAt: row?.last_round_at == null ? null : new Date(row.last_round_at),
    leasedBy: row?.leased_by ?? null,
    failures: Array.isArray(failures) ? failures as RefreshFailure[] : []
  }
}
