import type { Queryable } from '../db/database.js'

/**
 * Takes (or renews) the lease `name` for `leaseMs` when it is free, expired, or already this
 * holder's (migration 012_background_leases). True: this process runs the round.
 */
export async function claimLease (db: Queryable, name: string, holder: string, leaseMs: number): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO background_leases (name, leased_until, leased_by)
     VALUES ($1, now() + $3::double precision * interval '1 millisecond', $2)
     ON CONFLICT (name) DO UPDATE SET leased_until = EXCLUDED.leased_until, leased_by = EXCLUDED.leased_by
     WHERE background_leases.leased_until <= now() OR background_leases.leased_by = EXCLUDED.leased_by
     RETURNING name`, [name, holder, leaseMs])
  return rows.length > 0
}

/** Gives the lease up at once (an orderly stop), so another process takes the next round without waiting it out. */
export async function releaseLease (db: Queryable, name: string, holder: string): Promise<void> {
  await db.query('UPDATE background_leases SET leased_until = \'-infinity\' WHERE name = $1 AND leased_by = $2', [name, holder])
}
