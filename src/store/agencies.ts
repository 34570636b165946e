import type { AgencyRegistry } from '../registry/agency-registry.js'
import type { Queryable } from '../db/database.js'
import { setSigningFingerprints, writeAgencyRow } from '../registry/registry-db.js'

/**
 * Seeds the registry file's agencies into the database (at every start, SIGHUP and CLI command):
 * insert, or update a row the file still manages; an agency an admin changed (API or CLI) keeps
 * its row (docs/agency-registry.md, "Registry in the database"). Never deletes: documents
 * reference agencies that may leave. Returns the number of agencies the file still manages.
 */
export async function syncAgencies (db: Queryable, registry: AgencyRegistry): Promise<number> {
  let count = 0
  for (const agency of registry.all()) {
    if (await writeAgencyRow(db, agency, 'file') !== 'file') continue
    // The file lists the fingerprints that bind: the rows follow it (a removed one is revoked).
    await setSigningFingerprints(db, agency.code, agency.certificates, 'registry file')
    count++
  }
  return count
}

export interface AgencyRow {
  code: string
  name: string
  delivery_mode: 'push' | 'pull'
  push_url: string | null
}

export async function findAgencies (db: Queryable, codes: readonly string[]): Promise<Map<string, AgencyRow>> {
  if (codes.length === 0) return new Map()
  const { rows } = await db.query<AgencyRow>('SELECT code, name, delivery_mode, push_url FROM agencies WHERE code = ANY($1)', [codes])
  return new Map(rows.map((r) => [r.code, r]))
}

/** Every agency code seeded from the registry, sorted. */
export async function listAgencyCodes (db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ code: string }>('SELECT code FROM agencies ORDER BY code')
  return rows.map((r) => r.code)
}

export async function agencyExists (db: Queryable, code: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM agencies WHERE code = $1', [code])
  return rows.length > 0
}

/**
 * Whether a registry agency has this code up to letter case: a look-alike such as 000.00.00.h41
 * beside 000.00.00.H41 must not be registered through VDXP (outsider review, finding V2).
 */
/**
 * For each code that is not an agency of this hub but equals one ignoring letter case: that
 * agency's code (000.00.00.h41 -> 000.00.00.H41). Codes match exactly everywhere else, so such a
 * code must be refused, not routed on (docs/deployment.md, "Agency codes and letter case").
 */
export async function localCaseVariants (db: Queryable, codes: readonly string[]): Promise<Map<string, string>> {
  if (codes.length === 0) return new Map()
  const { rows } = await db.query<{ code: string }>('SELECT code FROM agencies WHERE lower(code) = ANY($1)', [codes.map((c) => c.toLowerCase())])
  const out = new Map<string, string>()
  for (const code of codes) {
    const local = rows.find((r) => r.code.toLowerCase() === code.toLowerCase())
    if (local != null && local.code !== code) out.set(code, local.code)
  }
  return out
}

export async function agencyExistsIgnoringCase (db: Queryable, code: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM agencies WHERE lower(code) = lower($1)', [code])
  return rows.length > 0
}
