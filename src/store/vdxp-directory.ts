import type { Queryable } from '../db/database.js'

/** A unit of the VDXP directory: a registry agency, or one a system registered with registerAgency. */
export interface DirectoryUnit {
  code: string
  name: string
  parentCode: string | null
  mail: string | null
  version: number
  deleted: boolean
  modifiedAt: Date
  /** True for the registry's agencies (they exchange documents through the hub). */
  inRegistry: boolean
}

/** The registry's agencies, then the units registered through VDXP (deleted ones only when asked). */
export async function directoryUnits (db: Queryable, withDeleted: boolean): Promise<DirectoryUnit[]> {
  const { rows } = await db.query<{ code: string, name: string, parent_code: string | null, mail: string | null, version: number, deleted: boolean, modified_at: Date, in_registry: boolean }>(
    `SELECT code, name, NULL::text AS parent_code, NULL::text AS mail, 1 AS version, false AS deleted, updated_at AS modified_at, true AS in_registry FROM agencies
     UNION ALL
     SELECT u.code, u.name, u.parent_code, u.mail, u.version, u.deleted, u.modified_at, false FROM vdxp_directory_units u
     WHERE ($1 OR NOT u.deleted) AND NOT EXISTS (SELECT 1 FROM agencies a WHERE a.code = u.code)
     ORDER BY in_registry DESC, code`, [withDeleted])
  return rows.map((r) => ({ code: r.code, name: r.name, parentCode: r.parent_code, mail: r.mail, version: Number(r.version), deleted: r.deleted, modifiedAt: r.modified_at, inRegistry: r.in_registry }))
}

export interface UnitRegistration {
  code: string
  parentCode: string | undefined
  name: string
  mail: string | undefined
  mobile: string | undefined
  fax: string | undefined
  registeredBy: string
}

/**
 * Adds the unit, or updates it (a new version, undeleted) when the same system registered it.
 * False: another system registered this code, and only it (or the operator) may change it
 * (outsider review, finding V1).
 */
export async function registerUnit (db: Queryable, unit: UnitRegistration): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO vdxp_directory_units (code, parent_code, name, mail, mobile, fax, registered_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (code) DO UPDATE SET parent_code = EXCLUDED.parent_code, name = EXCLUDED.name, mail = EXCLUDED.mail, mobile = EXCLUDED.mobile,
       fax = EXCLUDED.fax, version = vdxp_directory_units.version + 1, deleted = false, modified_at = now()
     WHERE vdxp_directory_units.registered_by = EXCLUDED.registered_by
     RETURNING code`,
    [unit.code, unit.parentCode ?? null, unit.name, unit.mail ?? null, unit.mobile ?? null, unit.fax ?? null, unit.registeredBy])
  return rows.length > 0
}

/**
 * Marks a unit `registeredBy` registered deleted (kept, so getSynchronizeUnit reports the
 * deletion); false when there is no such unit of that system (outsider review, finding V1).
 */
export async function deleteUnit (db: Queryable, code: string, registeredBy: string): Promise<boolean> {
  const { rows } = await db.query(
    'UPDATE vdxp_directory_units SET deleted = true, version = version + 1, modified_at = now() WHERE code = $1 AND registered_by = $2 AND NOT deleted RETURNING code', [code, registeredBy])
  return rows.length > 0
}
