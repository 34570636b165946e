import type { Queryable } from '../db/database.js'

/** An agency as the admin API lists it: its delivery and its credentials (never a secret). */
export interface AgencyOverview {
  code: string
  name: string
  deliveryMode: 'push' | 'pull'
  pushUrl: string | null
  allowWeakAlgorithms: boolean
  credentials: Array<{ id: string, kind: 'api_key' | 'client_cert', label: string, keyPrefix: string | null, certFingerprint: string | null, createdAt: string, revokedAt: string | null }>
}

export async function agencyOverview (db: Queryable): Promise<AgencyOverview[]> {
  const { rows: agencies } = await db.query<{ code: string, name: string, delivery_mode: 'push' | 'pull', push_url: string | null, allow_weak_algorithms: boolean }>(
    'SELECT code, name, delivery_mode, push_url, allow_weak_algorithms FROM agencies ORDER BY code'
  )
  const { rows: credentials } = await db.query<{ id: string, agency_code: string, kind: 'api_key' | 'client_cert', label: string, key_prefix: string | null, cert_fingerprint: string | null, created_at: Date, revoked_at: Date | null }>(
    'SELECT id, agency_code, kind, label, key_prefix, cert_fingerprint, created_at, revoked_at FROM agency_credentials ORDER BY created_at, id'
  )
  return agencies.map((a) => ({
    code: a.code,
    name: a.name,
    deliveryMode: a.delivery_mode,
    pushUrl: a.push_url,
    allowWeakAlgorithms: a.allow_weak_algorithms,
    credentials: credentials.filter((c) => c.agency_code === a.code).map((c) => ({
      id: c.id,
      kind: c.kind,
      label: c.label,
      keyPrefix: c.key_prefix,
      certFingerprint: c.cert_fingerprint,
      createdAt: new Date(c.created_at).toISOString(),
      revokedAt: c.revoked_at == null ? null : new Date(c.revoked_at).toISOString()
    }))
  }))
}

/** One credential's agency and kind (for the audit entry of its revocation). */
export async function findAgencyCredential (db: Queryable, id: string): Promise<{ agencyCode: string, kind: string, label: string, revoked: boolean } | undefined> {
  const { rows } = await db.query<{ agency_code: string, kind: string, label: string, revoked: boolean }>(
    'SELECT agency_code, kind, label, revoked_at IS NOT NULL AS revoked FROM agency_credentials WHERE id = $1', [id]
  )
  const row = rows[0]
  return row != null ? { agencyCode: row.agency_code, kind: row.kind, label: row.label, revoked: row.revoked } : undefined
}
