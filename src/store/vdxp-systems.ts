import type { Queryable } from '../db/database.js'

/** A VDXP system as stored (secret still sealed: src/vdxp/secret-box.ts). */
export interface VdxpSystemRow {
  system_id: string
  agencies: string[]
  secret_sealed: Buffer
  allow_directory_changes: boolean
  ip_allow_list: string[]
  created_at: Date
  rotated_at: Date | null
}

export async function findVdxpSystem (db: Queryable, systemId: string): Promise<VdxpSystemRow | undefined> {
  const { rows } = await db.query<VdxpSystemRow>('SELECT * FROM vdxp_systems WHERE system_id = $1', [systemId])
  const row = rows[0]
  return row == null ? undefined : { ...row, secret_sealed: Buffer.from(row.secret_sealed) }
}

export async function listVdxpSystems (db: Queryable): Promise<Array<Omit<VdxpSystemRow, 'secret_sealed'>>> {
  const { rows } = await db.query<Omit<VdxpSystemRow, 'secret_sealed'>>(
    'SELECT system_id, agencies, allow_directory_changes, ip_allow_list, created_at, rotated_at FROM vdxp_systems ORDER BY system_id')
  return rows
}

export interface NewVdxpSystem {
  systemId: string
  agencies: string[]
  sealed: Buffer
  allowDirectoryChanges: boolean
  ipAllowList: string[]
}

/** False when the system id is taken. */
export async function insertVdxpSystem (db: Queryable, system: NewVdxpSystem): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO vdxp_systems (system_id, agencies, secret_sealed, allow_directory_changes, ip_allow_list)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (system_id) DO NOTHING RETURNING system_id`,
    [system.systemId, system.agencies, system.sealed, system.allowDirectoryChanges, system.ipAllowList])
  return rows.length > 0
}

/** Replaces the sealed secret; false when there is no such system. */
export async function rotateVdxpSecret (db: Queryable, systemId: string, sealed: Buffer): Promise<boolean> {
  const { rows } = await db.query('UPDATE vdxp_systems SET secret_sealed = $2, rotated_at = now() WHERE system_id = $1 RETURNING system_id', [systemId, sealed])
  return rows.length > 0
}

export async function removeVdxpSystem (db: Queryable, systemId: string): Promise<boolean> {
  const { rows } = await db.query('DELETE FROM vdxp_systems WHERE system_id = $1 RETURNING system_id', [systemId])
  return rows.length > 0
}
