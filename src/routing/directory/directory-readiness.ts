import type { Queryable } from '../../db/database.js'
import { acceptedDirectories, peerDirectoryStates, type AcceptedDirectory, type PeerDirectoryState } from '../../store/peer-directories.js'

/** How one peer's directory stands (readiness, `lienthong directory peers`). */
export interface PeerDirectoryReport {
  hubId: string
  /** in-force: a valid directory is held; expired: held but past valid-until; none: never accepted. */
  state: 'in-force' | 'expired' | 'none'
  version: number | null
  agencies: number
  issuedAt: string | null
  validUntil: string | null
  acceptedAt: string | null
  lastAttemptAt: string | null
  lastSuccessAt: string | null
  /** The last attempt's refusal code (null: it succeeded, or none yet). */
  lastCode: string | null
  lastDetail: string | null
}

export function peerDirectoryReport (hubId: string, held: AcceptedDirectory | undefined, state: PeerDirectoryState | undefined, now: Date): PeerDirectoryReport {
  return {
    hubId,
    state: held == null ? 'none' : held.validUntil > now ? 'in-force' : 'expired',
    version: held?.version ?? null,
    agencies: held?.agencies.length ?? 0,
    issuedAt: held?.issuedAt.toISOString() ?? null,
    validUntil: held?.validUntil.toISOString() ?? null,
    acceptedAt: held?.acceptedAt.toISOString() ?? null,
    lastAttemptAt: state?.lastAttemptAt.toISOString() ?? null,
    lastSuccessAt: state?.lastSuccessAt?.toISOString() ?? null,
    lastCode: state?.lastCode ?? null,
    lastDetail: state?.lastDetail ?? null
  }
}

/** Reports for `hubIds` (the configured peers) plus any peer we still hold a directory of. */
export async function peerDirectoryReports (db: Queryable, hubIds: readonly string[], now = new Date()): Promise<PeerDirectoryReport[]> {
  const held = new Map((await acceptedDirectories(db)).map((d) => [d.hubId, d]))
  const states = new Map((await peerDirectoryStates(db)).map((s) => [s.hubId, s]))
  const ids = [...new Set([...hubIds, ...held.keys()])].sort()
  return ids.map((id) => peerDirectoryReport(id, held.get(id), states.get(id), now))
}

/**
 * Readiness: fails when a configured peer has no directory in force (never accepted, or past its
 * valid-until: its agencies are unroutable by directory). A refused last fetch with a directory
 * still in force passes, with the refusal in the detail: the operator sees it before the held
 * one runs out.
 */
export function directoryReadiness (reports: readonly PeerDirectoryReport[], configured: readonly string[]): { ok: boolean, detail: string } {
  if (configured.length === 0) return { ok: true, detail: 'no peer hubs configured' }
  const wanted = reports.filter((r) => configured.includes(r.hubId))
  const lines = wanted.map((r) => {
    const last = r.lastCode != null ? `; last fetch ${r.lastAttemptAt ?? ''} refused ${r.lastCode}` : r.lastSuccessAt != null ? `; last fetch ok ${r.lastSuccessAt}` : ''
    if (r.state === 'none') return `${r.hubId}: no directory accepted${last}`
    if (r.state === 'expired') return `${r.hubId}: directory v${r.version ?? ''} EXPIRED ${r.validUntil ?? ''}, its agencies are unroutable${last}`
    return `${r.hubId}: directory v${r.version ?? ''} (${r.agencies} agencies) valid until ${r.validUntil ?? ''}${last}`
  })
  return { ok: wanted.length === configured.length && wanted.every((r) => r.state === 'in-force'), detail: lines.join('; ') }
}
