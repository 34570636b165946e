import type { Queryable } from '../db/database.js'
import { storedAgencyEntries } from './registry-db.js'
import type { RegistryFile } from './registry-format.js'

/**
 * `lienthong registry export`: the registry as it rules now, as a registry file. The agencies are
 * the database's rows (admin changes included, revoked certificates left out); peers, upstreams,
 * routes and peer agencies are the current file's, unchanged (they are not held in the database).
 * Written in place of the file, it makes the file say what the database says, so a fresh
 * database seeded from it (a new node, a restore) starts with the same registry.
 */
export async function exportRegistry (db: Queryable, file: RegistryFile): Promise<{ registry: RegistryFile, warnings: string[] }> {
  const agencies = await storedAgencyEntries(db)
  const warnings = agencies
    .filter((a) => a.certificates.length === 0 && a.subjectRule == null)
    .map((a) => `agency ${a.code} has no live signing certificate and no subject rule: the hub refuses such an entry in a registry file; give it one (or remove it) before using this file`)
  const { agencies: _fileAgencies, ...rest } = file
  return { registry: { ...rest, version: 1, agencies }, warnings }
}
