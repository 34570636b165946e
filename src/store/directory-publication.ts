import type { Database } from '../db/database.js'

/** The row this hub signs its directory from (migration 016, table directory_publication). */
export interface Publication {
  hubId: string
  version: number
  contentSha256: string
  issuedAt: Date
  validUntil: Date
}

interface Row { hub_id: string, version: string, content_sha256: string, issued_at: Date, valid_until: Date }

function fromRow (r: Row): Publication {
  return { hubId: r.hub_id, version: Number(r.version), contentSha256: r.content_sha256, issuedAt: new Date(r.issued_at), validUntil: new Date(r.valid_until) }
}

/**
 * The publication for `contentSha256` as of `now`: the row held when its content is the same and
 * more than `reissueBeforeMs` of validity is left; otherwise a new version (issued now, valid for
 * `validityMs`). Under a row lock, so concurrent replicas agree on one version.
 */
export async function currentPublication (db: Database, hubId: string, contentSha256: string, now: Date, validityMs: number, reissueBeforeMs: number): Promise<Publication> {
  return await db.transaction(async (tx) => {
    const { rows } = await tx.query<Row>('SELECT hub_id, version, content_sha256, issued_at, valid_until FROM directory_publication WHERE hub_id = $1 FOR UPDATE', [hubId])
    const held = rows[0] == null ? undefined : fromRow(rows[0])
    if (held != null && held.contentSha256 === contentSha256 && held.validUntil.getTime() - now.getTime() > reissueBeforeMs && held.issuedAt <= now) return held
    // Whole milliseconds: the directory carries times with millisecond precision.
    const issuedAt = new Date(Math.floor(now.getTime()))
    const next: Publication = { hubId, version: (held?.version ?? 0) + 1, contentSha256, issuedAt, validUntil: new Date(issuedAt.getTime() + validityMs) }
    await tx.query(
      `INSERT INTO directory_publication (hub_id, version, content_sha256, issued_at, valid_until) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (hub_id) DO UPDATE SET version = EXCLUDED.version, content_sha256 = EXCLUDED.content_sha256, issued_at = EXCLUDED.issued_at, valid_until = EXCLUDED.valid_until`,
      [hubId, next.version, contentSha256, issuedAt, next.validUntil])
    return next
  })
}

export async function heldPublication (db: Database, hubId: string): Promise<Publication | undefined> {
  const { rows } = await db.query<Row>('SELECT hub_id, version, content_sha256, issued_at, valid_until FROM directory_publication WHERE hub_id = $1', [hubId])
  return rows[0] == null ? undefined : fromRow(rows[0])
}
