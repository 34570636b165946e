/**
 * The agency registry as held in the database (migration 023_registry_in_database): what the
 * admin API and CLI change, what every verification thread is loaded with. Precedence between
 * the registry file and these rows: docs/agency-registry.md, "Registry in the database".
 */
import type { Queryable } from '../db/database.js'
import type { AgencyEntry } from './registry-format.js'

export type ManagedBy = 'file' | 'admin'

export interface StoredSigningCertificate {
  fingerprint: string
  subject: string | null
  notAfter: string | null
  label: string
  addedAt: string
  revokedAt: string | null
}

export interface StoredAgency {
  entry: AgencyEntry
  managedBy: ManagedBy
  /** Every certificate ever registered, revoked ones included (the entry has only the live ones). */
  signingCertificates: StoredSigningCertificate[]
}

interface AgencyRow {
  code: string
  name: string
  delivery_mode: 'push' | 'pull'
  push_url: string | null
  allow_weak_algorithms: boolean
  allow_unsigned_envelopes: boolean
  subject_rule: unknown
  push_server_certificates: string[] | null
  push_server_subject: unknown
  managed_by: ManagedBy
}

interface CertRow {
  agency_code: string
  fingerprint: string
  subject: string | null
  not_after: Date | string | null
  label: string
  added_at: Date | string
  revoked_at: Date | string | null
}

/** The number every change to agencies, their signing certificates or the trust CAs moves. */
export async function registryVersion (db: Queryable): Promise<string> {
  const { rows } = await db.query<{ version: string }>('SELECT version::text AS version FROM registry_version')
  return rows[0]?.version ?? '0'
}

/** Every agency of this hub as the database holds it, sorted by code; `only`: just that one. */
export async function storedAgencies (db: Queryable, only?: string): Promise<StoredAgency[]> {
  const where = only != null ? 'WHERE code = $1' : ''
  const params = only != null ? [only] : []
  const { rows } = await db.query<AgencyRow>(
    `SELECT code, name, delivery_mode, push_url, allow_weak_algorithms, allow_unsigned_envelopes, subject_rule,
            push_server_certificates, push_server_subject, managed_by
       FROM agencies ${where} ORDER BY code`, params)
  const { rows: certs } = await db.query<CertRow>(
    `SELECT agency_code, fingerprint, subject, not_after, label, added_at, revoked_at
       FROM agency_signing_certificates ${only != null ? 'WHERE agency_code = $1' : ''} ORDER BY agency_code, added_at, fingerprint`, params)
  const byAgency = new Map<string, CertRow[]>()
  for (const c of certs) byAgency.set(c.agency_code, [...(byAgency.get(c.agency_code) ?? []), c])
  return rows.map((row) => {
    const mine = byAgency.get(row.code) ?? []
    return {
      entry: agencyEntryOf(row, mine.filter((c) => c.revoked_at == null).map((c) => c.fingerprint)),
      managedBy: row.managed_by,
      signingCertificates: mine.map((c) => ({
        fingerprint: c.fingerprint,
        subject: c.subject,
        notAfter: iso(c.not_after),
        label: c.label,
        addedAt: iso(c.added_at) as string,
        revokedAt: iso(c.revoked_at)
      }))
    }
  })
}

/** Just the registry entries (live certificates only): what verification threads are loaded with. */
export async function storedAgencyEntries (db: Queryable): Promise<AgencyEntry[]> {
  return (await storedAgencies(db)).map((a) => a.entry)
}

function agencyEntryOf (row: AgencyRow, certificates: string[]): AgencyEntry {
  const subjectRule = jsonObject(row.subject_rule)
  const serverSubject = jsonObject(row.push_server_subject)
  const delivery: AgencyEntry['delivery'] = row.delivery_mode === 'push'
    ? {
        mode: 'push',
        url: row.push_url ?? '',
        ...(row.push_server_certificates != null && row.push_server_certificates.length > 0 ? { serverCertificates: [...row.push_server_certificates] } : {}),
        ...(serverSubject != null ? { serverSubject } : {})
      }
    : { mode: 'pull' }
  return {
    code: row.code,
    name: row.name,
    certificates,
    ...(subjectRule != null ? { subjectRule } : {}),
    allowWeakAlgorithms: row.allow_weak_algorithms,
    ...(row.allow_unsigned_envelopes ? { allowUnsignedEnvelopes: true } : {}),
    delivery
  }
}

/**
 * Writes an agency's row (insert or full update) from a registry entry. `managedBy` 'file' only
 * updates a row that is still file-managed: an admin's change is never overwritten by the file.
 * Rows are only written when something differs, so a start with an unchanged file does not move
 * the registry version (every gateway would reload its verification threads for nothing).
 * Returns who manages the row now.
 */
export async function writeAgencyRow (db: Queryable, entry: AgencyEntry, managedBy: ManagedBy): Promise<ManagedBy> {
  const push = entry.delivery.mode === 'push' ? entry.delivery : undefined
  const pins = push?.serverCertificates != null && push.serverCertificates.length > 0 ? push.serverCertificates.map(normalise) : null
  await db.query(
    `INSERT INTO agencies AS a (code, name, delivery_mode, push_url, allow_weak_algorithms, allow_unsigned_envelopes, subject_rule,
                          push_server_certificates, push_server_subject, managed_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::text[], $9::jsonb, $10::text, now())
     ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, delivery_mode = EXCLUDED.delivery_mode, push_url = EXCLUDED.push_url,
       allow_weak_algorithms = EXCLUDED.allow_weak_algorithms, allow_unsigned_envelopes = EXCLUDED.allow_unsigned_envelopes,
       subject_rule = EXCLUDED.subject_rule, push_server_certificates = EXCLUDED.push_server_certificates,
       push_server_subject = EXCLUDED.push_server_subject, managed_by = EXCLUDED.managed_by, updated_at = now()
     WHERE ($10::text = 'admin' OR a.managed_by = 'file')
       AND (a.name, a.delivery_mode, a.push_url, a.allow_weak_algorithms, a.allow_unsigned_envelopes, a.subject_rule,
            a.push_server_certificates, a.push_server_subject, a.managed_by)
           IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.delivery_mode, EXCLUDED.push_url, EXCLUDED.allow_weak_algorithms,
            EXCLUDED.allow_unsigned_envelopes, EXCLUDED.subject_rule, EXCLUDED.push_server_certificates,
            EXCLUDED.push_server_subject, EXCLUDED.managed_by)`,
    [entry.code, entry.name, entry.delivery.mode, push?.url ?? null, entry.allowWeakAlgorithms, entry.allowUnsignedEnvelopes === true,
      entry.subjectRule != null ? JSON.stringify(entry.subjectRule) : null, pins,
      push?.serverSubject != null ? JSON.stringify(push.serverSubject) : null, managedBy])
  const { rows } = await db.query<{ managed_by: ManagedBy }>('SELECT managed_by FROM agencies WHERE code = $1', [entry.code])
  return rows[0]?.managed_by ?? managedBy
}

/**
 * Makes the agency's live signing fingerprints exactly `fingerprints` (file-managed agencies: the
 * file lists them): missing ones added (or un-revoked), others revoked.
 */
export async function setSigningFingerprints (db: Queryable, code: string, fingerprints: readonly string[], label: string): Promise<void> {
  const wanted = [...new Set(fingerprints.map(normalise))]
  await db.query(
    `INSERT INTO agency_signing_certificates (agency_code, fingerprint, label)
     SELECT $1, f, $3 FROM unnest($2::text[]) AS f
     ON CONFLICT (agency_code, fingerprint) DO UPDATE SET revoked_at = NULL WHERE agency_signing_certificates.revoked_at IS NOT NULL`,
    [code, wanted, label])
  await db.query(
    'UPDATE agency_signing_certificates SET revoked_at = now() WHERE agency_code = $1 AND revoked_at IS NULL AND NOT (fingerprint = ANY($2::text[]))',
    [code, wanted])
}

/** Turns a file-managed agency admin-managed (its first admin change); no-op when it already is. */
export async function takeOverAgency (db: Queryable, code: string): Promise<void> {
  await db.query("UPDATE agencies SET managed_by = 'admin', updated_at = now() WHERE code = $1 AND managed_by = 'file'", [code])
}

export interface NewSigningCertificate {
  fingerprint: string
  subject: string | null
  notAfter: Date | null
  label: string
}

/** 'added', or 'present' when that fingerprint already binds (a revoked one is not re-activated here). */
export async function insertSigningCertificate (db: Queryable, code: string, cert: NewSigningCertificate): Promise<'added' | 'present' | 'revoked'> {
  const { rows } = await db.query(
    `INSERT INTO agency_signing_certificates (agency_code, fingerprint, subject, not_after, label)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agency_code, fingerprint) DO NOTHING RETURNING 1`,
    [code, normalise(cert.fingerprint), cert.subject, cert.notAfter, cert.label])
  if (rows.length > 0) return 'added'
  const { rows: held } = await db.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM agency_signing_certificates WHERE agency_code = $1 AND fingerprint = $2', [code, normalise(cert.fingerprint)])
  return held[0]?.revoked === true ? 'revoked' : 'present'
}

/** Revokes one live fingerprint of one agency; false when there is no live one. */
export async function revokeSigningCertificate (db: Queryable, code: string, fingerprint: string): Promise<boolean> {
  const { rows } = await db.query(
    'UPDATE agency_signing_certificates SET revoked_at = now() WHERE agency_code = $1 AND fingerprint = $2 AND revoked_at IS NULL RETURNING 1',
    [code, normalise(fingerprint)])
  return rows.length > 0
}

function normalise (fp: string): string {
  return fp.replaceAll(':', '').toLowerCase()
}

function iso (value: Date | string | null): string | null {
  return value == null ? null : new Date(value).toISOString()
}

function jsonObject (value: unknown): Record<string, string> | undefined {
  const parsed = typeof value === 'string' ? JSON.parse(value) as unknown : value
  return parsed != null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, string> : undefined
}
