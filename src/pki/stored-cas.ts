/**
 * Trust anchors and intermediate CAs added by an admin (migration 023_registry_in_database),
 * layered over the trust directory: every trust store the hub verifies with is the directory's
 * plus these (TrustStore.withCertificates), reloaded when the registry version moves.
 */
import type { Queryable } from '../db/database.js'

export interface StoredCa {
  fingerprint: string
  kind: 'anchor' | 'intermediate'
  der: Uint8Array
  subject: string
  notAfter: string
  addedAt: string
  addedBy: string
}

export async function storedCas (db: Queryable): Promise<StoredCa[]> {
  const { rows } = await db.query<{ fingerprint: string, kind: 'anchor' | 'intermediate', der: Uint8Array, subject: string, not_after: Date | string, added_at: Date | string, added_by: string }>(
    'SELECT fingerprint, kind, der, subject, not_after, added_at, added_by FROM trust_cas ORDER BY added_at, fingerprint')
  return rows.map((r) => ({
    fingerprint: r.fingerprint,
    kind: r.kind,
    der: new Uint8Array(r.der),
    subject: r.subject,
    notAfter: new Date(r.not_after).toISOString(),
    addedAt: new Date(r.added_at).toISOString(),
    addedBy: r.added_by
  }))
}

/** The CAs as a trust store takes them; `source` names them in the trust overview and the logs. */
export function caSources (cas: readonly StoredCa[]): Array<{ der: Uint8Array, source: string }> {
  return cas.map((c) => ({ der: c.der, source: `database:${c.fingerprint}` }))
}

/** Inserts one CA; false when that fingerprint is already held. */
export async function insertCa (db: Queryable, ca: Omit<StoredCa, 'addedAt'>): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO trust_cas (fingerprint, kind, der, subject, not_after, added_by) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (fingerprint) DO NOTHING RETURNING 1`,
    [ca.fingerprint, ca.kind, Buffer.from(ca.der), ca.subject, ca.notAfter, ca.addedBy])
  return rows.length > 0
}
