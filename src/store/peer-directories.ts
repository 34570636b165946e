/**
 * Directories accepted from peer hubs and each peer's fetch state (migration 016). Written by the
 * refresh task (src/routing/directory/refresh-directories.ts), read by the route provider,
 * readiness and `lienthong directory peers`.
 */
import type { Database, Queryable } from '../db/database.js'

/** One agency as a peer's directory lists it (the jsonb column holds an array of these). */
export interface StoredDirectoryAgency {
  code: string
  name: string
  receives: 'push' | 'pull'
  signerFingerprints: string[]
  subjectRule?: Record<string, string>
}

export interface AcceptedDirectory {
  hubId: string
  version: number
  issuedAt: Date
  validUntil: Date
  sha256: string
  signerFingerprint: string
  agencies: StoredDirectoryAgency[]
  acceptedAt: Date
}

export interface PeerDirectoryState {
  hubId: string
  acceptedVersion: number | null
  lastAttemptAt: Date
  lastSuccessAt: Date | null
  lastCode: string | null
  lastDetail: string | null
}

interface DirectoryRow { hub_id: string, version: string, issued_at: Date, valid_until: Date, sha256: string, signer_fingerprint: string, agencies: StoredDirectoryAgency[] | string, accepted_at: Date }
interface StateRow { hub_id: string, accepted_version: string | null, last_attempt_at: Date, last_success_at: Date | null, last_code: string | null, last_detail: string | null }

function directoryFromRow (r: DirectoryRow): AcceptedDirectory {
  return {
    hubId: r.hub_id,
    version: Number(r.version),
    issuedAt: new Date(r.issued_at),
    validUntil: new Date(r.valid_until),
    sha256: r.sha256,
    signerFingerprint: r.signer_fingerprint,
    agencies: typeof r.agencies === 'string' ? JSON.parse(r.agencies) as StoredDirectoryAgency[] : r.agencies,
    acceptedAt: new Date(r.accepted_at)
  }
}

function stateFromRow (r: StateRow): PeerDirectoryState {
  return {
    hubId: r.hub_id,
    acceptedVersion: r.accepted_version == null ? null : Number(r.accepted_version),
    lastAttemptAt: new Date(r.last_attempt_at),
    lastSuccessAt: r.last_success_at == null ? null : new Date(r.last_success_at),
    lastCode: r.last_code,
    lastDetail: r.last_detail
  }
}

const DIRECTORY_COLUMNS = 'd.hub_id, d.version, d.issued_at, d.valid_until, d.sha256, d.signer_fingerprint, d.agencies, d.accepted_at'

/** The directory in force for each peer (the accepted version), whatever its validity. */
export async function acceptedDirectories (db: Queryable, hubIds?: readonly string[]): Promise<AcceptedDirectory[]> {
  const { rows } = await db.query<DirectoryRow>(
    `SELECT ${DIRECTORY_COLUMNS} FROM peer_directory_state s JOIN peer_directories d ON d.hub_id = s.hub_id AND d.version = s.accepted_version
     ${hubIds != null ? 'WHERE s.hub_id = ANY($1)' : ''} ORDER BY d.hub_id`, hubIds != null ? [hubIds] : [])
  return rows.map(directoryFromRow)
}

/** The raw signed bytes of an accepted directory (evidence). */
export async function acceptedDirectoryBytes (db: Queryable, hubId: string, version: number): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ signed_bytes: Uint8Array }>('SELECT signed_bytes FROM peer_directories WHERE hub_id = $1 AND version = $2', [hubId, version])
  return rows[0] == null ? undefined : Buffer.from(rows[0].signed_bytes)
}

export async function peerDirectoryStates (db: Queryable): Promise<PeerDirectoryState[]> {
  const { rows } = await db.query<StateRow>('SELECT hub_id, accepted_version, last_attempt_at, last_success_at, last_code, last_detail FROM peer_directory_state ORDER BY hub_id')
  return rows.map(stateFromRow)
}

export interface NewDirectory extends Omit<AcceptedDirectory, 'acceptedAt'> {
  signedBytes: Buffer
}

/**
 * Makes `directory` the one in force for its peer, unless a version at least as high was accepted
 * meanwhile (two refreshes racing): then nothing changes and false is returned. One transaction,
 * the state row locked, so the version in force never goes back.
 */
export async function acceptDirectory (db: Database, directory: NewDirectory, at: Date): Promise<boolean> {
  return await db.transaction(async (tx) => {
    await tx.query('INSERT INTO peer_directory_state (hub_id, last_attempt_at) VALUES ($1, $2) ON CONFLICT (hub_id) DO NOTHING', [directory.hubId, at])
    const { rows } = await tx.query<{ accepted_version: string | null }>('SELECT accepted_version FROM peer_directory_state WHERE hub_id = $1 FOR UPDATE', [directory.hubId])
    const held = rows[0]?.accepted_version
    if (held != null && Number(held) >= directory.version) return false
    await tx.query(
      `INSERT INTO peer_directories (hub_id, version, issued_at, valid_until, signed_bytes, sha256, signer_fingerprint, agencies, accepted_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)`,
      [directory.hubId, directory.version, directory.issuedAt, directory.validUntil, directory.signedBytes, directory.sha256, directory.signerFingerprint, JSON.stringify(directory.agencies), at])
    await tx.query(
      'UPDATE peer_directory_state SET accepted_version = $2, last_attempt_at = $3, last_success_at = $3, last_code = NULL, last_detail = NULL WHERE hub_id = $1',
      [directory.hubId, directory.version, at])
    return true
  })
}

/** Records how an attempt ended: `code` null for "the held directory is confirmed", else the refusal. */
export async function recordDirectoryAttempt (db: Queryable, hubId: string, at: Date, outcome: { code: string, detail: string } | null): Promise<void> {
  await db.query(
    `INSERT INTO peer_directory_state (hub_id, last_attempt_at, last_success_at, last_code, last_detail) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (hub_id) DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at,
       last_success_at = COALESCE(EXCLUDED.last_success_at, peer_directory_state.last_success_at),
       last_code = EXCLUDED.last_code, last_detail = EXCLUDED.last_detail`,
    [hubId, at, outcome == null ? at : null, outcome?.code ?? null, outcome?.detail.slice(0, 2000) ?? null])
}
