import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { Queryable } from '../db/database.js'

/**
 * Agency credentials. An API key is `lt_<prefix>_<secret>`: the prefix (public, 12 hex chars) finds
 * the row, the SHA-256 of the whole key is compared in constant time. The key carries 256 random
 * bits, so a slow password hash would add nothing. Only the hash is stored; the key is shown once.
 */
export interface AuthenticatedAgency {
  agencyCode: string
  credentialId: string
  /**
   * vdxp_hmac: a VDXP system (credentialId `vdxp:<system id>`), src/gateway/scopes/vdxp-authenticator.ts.
   * upstream: fetched by our poll of an upstream axis (`upstream:<id>`, src/upstream/), which
   * vouches for no agency: the sender is proven by the signature alone.
   */
  via: 'api_key' | 'client_cert' | 'vdxp_hmac' | 'upstream'
}

const KEY_PATTERN = /^lt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/

export async function createApiKey (db: Queryable, agencyCode: string, label = ''): Promise<{ id: string, key: string }> {
  const prefix = randomBytes(6).toString('hex')
  const key = `lt_${prefix}_${randomBytes(32).toString('base64url')}`
  const id = randomUUID()
  await db.query(
    'INSERT INTO agency_credentials (id, agency_code, kind, key_prefix, secret_sha256, label) VALUES ($1, $2, \'api_key\', $3, $4, $5)',
    [id, agencyCode, prefix, sha256(key), label]
  )
  return { id, key }
}

export async function registerClientCertificate (db: Queryable, agencyCode: string, fingerprintSha256: string, label = ''): Promise<string> {
  const id = randomUUID()
  await db.query(
    'INSERT INTO agency_credentials (id, agency_code, kind, cert_fingerprint, label) VALUES ($1, $2, \'client_cert\', $3, $4)',
    [id, agencyCode, fingerprintSha256.replaceAll(':', '').toLowerCase(), label]
  )
  return id
}

export async function revokeCredential (db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query('UPDATE agency_credentials SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id])
  return rows.length > 0
}

export async function authenticateApiKey (db: Queryable, key: string): Promise<AuthenticatedAgency | undefined> {
  const match = KEY_PATTERN.exec(key)
  if (match == null) return undefined
  const { rows } = await db.query<{ id: string, agency_code: string, secret_sha256: string }>(
    'SELECT id, agency_code, secret_sha256 FROM agency_credentials WHERE kind = \'api_key\' AND key_prefix = $1 AND revoked_at IS NULL',
    [match[1]]
  )
  const row = rows[0]
  if (row == null) return undefined
  const expected = Buffer.from(row.secret_sha256, 'hex')
  const actual = Buffer.from(sha256(key), 'hex')
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined
  return { agencyCode: row.agency_code, credentialId: row.id, via: 'api_key' }
}

export async function authenticateClientCertificate (db: Queryable, fingerprintSha256: string): Promise<AuthenticatedAgency | undefined> {
  const { rows } = await db.query<{ id: string, agency_code: string }>(
    'SELECT id, agency_code FROM agency_credentials WHERE kind = \'client_cert\' AND cert_fingerprint = $1 AND revoked_at IS NULL',
    [fingerprintSha256.replaceAll(':', '').toLowerCase()]
  )
  const row = rows[0]
  return row != null ? { agencyCode: row.agency_code, credentialId: row.id, via: 'client_cert' } : undefined
}

function sha256 (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Whether an API key with this prefix (the part after `lt_`) is registered and not revoked. */
export async function apiKeyPrefixIsLive (db: Queryable, keyPrefix: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM agency_credentials WHERE key_prefix = $1 AND revoked_at IS NULL', [keyPrefix])
  return rows.length > 0
}
