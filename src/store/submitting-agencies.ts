import type { Queryable } from '../db/database.js'

/**
 * Whether `code` has a way to submit documents to this hub itself: an unrevoked credential (API
 * key, client certificate), a VDXP system serving it, or an enabled clerk account. Such an agency
 * is one of this hub's own senders; a registry row without any of them only verifies what other
 * hubs bring (an upstream's senders are listed so, docs/vdxp-compat.md).
 */
export async function submitsHere (db: Queryable, code: string): Promise<boolean> {
  const { rows } = await db.query<{ here: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM agency_credentials WHERE agency_code = $1 AND revoked_at IS NULL)
         OR EXISTS (SELECT 1 FROM vdxp_systems WHERE $1 = ANY (agencies))
         OR EXISTS (SELECT 1 FROM users WHERE agency_code = $1 AND role = 'clerk' AND NOT disabled) AS here`, [code])
  return rows[0]?.here === true
}
