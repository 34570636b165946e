/**
 * What the route table and peer forwarding ask of the peers' directories, answered from the
 * directories in force (store/peer-directories.ts), held in memory and reloaded from PostgreSQL
 * (the refresh may run in another process). Every answer is as of `now`: a directory past its
 * valid-until answers nothing, so its agencies become unroutable by directory (fail closed).
 */
import type { Queryable } from '../../db/database.js'
import type { SignerIdentity } from '../../registry/agency-registry.js'
import { subjectAttributeOid } from '../../pki/subject-attributes.js'
import { acceptedDirectories, type AcceptedDirectory, type StoredDirectoryAgency } from '../../store/peer-directories.js'
import { listAgencyCodes } from '../../store/agencies.js'

/** Where a code leads by directory; `hubId` undefined when no valid directory lists it or several do. */
export type DirectoryLookup =
  | { found: true, hubId: string, version: number }
  | { found: false, why: 'unlisted' | 'expired' | 'conflict', hubIds: string[] }

export type SignerBinding =
  | { bound: true, hubId: string, version: number }
  | { bound: false, code: 'DIRECTORY_AGENCY_UNKNOWN' | 'DIRECTORY_EXPIRED' | 'DIRECTORY_CONFLICT' | 'DIRECTORY_HUB_MISMATCH' | 'DIRECTORY_SIGNER_NOT_BOUND', detail: string }

/** The interface the route table's directory source and peer forwarding are built against. */
export interface DirectoryProvider {
  /** The route table's question (src/routing/route-table.ts): the peer hub serving `code`, if exactly one valid directory lists it. */
  peerFor: (code: string, now?: Date) => string | undefined
  /** agency code -> the peer hub whose valid signed directory lists it. */
  lookup: (code: string, now?: Date) => DirectoryLookup
  /**
   * Sender binding for a document forwarded by a peer: is `signer` (a path-validated certificate)
   * bound to `agency` in the valid signed directory of the hub that serves it? With `servedBy`,
   * that hub must also be the one named.
   */
  signerBinding: (agency: string, signer: SignerIdentity, options?: { now?: Date, servedBy?: string }) => SignerBinding
}

interface Listing { hubId: string, version: number, validUntil: Date, agency: StoredDirectoryAgency }

/** Agency codes compared ignoring letter case (look-alikes), never to match: matching is exact. */
export function foldCode (code: string): string {
  return code.toUpperCase()
}

/** A snapshot of the directories in force, with the lookups over it. */
export class DirectorySnapshot implements DirectoryProvider {
  /** Listings by folded code: case variants of one code sit together, so they count as a conflict. */
  private readonly byFolded = new Map<string, Listing[]>()

  /**
   * `localCodes`: this hub's agencies. A listing equal to one ignoring letter case is left out
   * (the refresh leaves such codes out of what it stores, DIRECTORY_CODE_LOCAL; this covers an
   * agency added here after the peer's directory was accepted).
   */
  constructor (readonly directories: readonly AcceptedDirectory[], localCodes: readonly string[] = []) {
    const ours = new Set(localCodes.map(foldCode))
    for (const d of directories) {
      for (const agency of d.agencies) {
        const key = foldCode(agency.code)
        if (ours.has(key)) continue
        const list = this.byFolded.get(key) ?? []
        list.push({ hubId: d.hubId, version: d.version, validUntil: d.validUntil, agency })
        this.byFolded.set(key, list)
      }
    }
  }

  static async load (db: Queryable): Promise<DirectorySnapshot> {
    const [directories, local] = await Promise.all([acceptedDirectories(db), listAgencyCodes(db)])
    return new DirectorySnapshot(directories, local)
  }

  /** Codes of every agency listed in a directory valid at `now`, by peer hub (CLI, the route table's listing). */
  codesByHub (now = new Date()): Map<string, string[]> {
    const out = new Map<string, string[]>()
    for (const d of this.directories) if (d.validUntil > now) out.set(d.hubId, d.agencies.map((a) => a.code))
    return out
  }

  peerFor (code: string, now = new Date()): string | undefined {
    const found = this.lookup(code, now)
    return found.found ? found.hubId : undefined
  }

  lookup (code: string, now = new Date()): DirectoryLookup {
    const all = this.byFolded.get(foldCode(code)) ?? []
    const exact = all.filter((l) => l.agency.code === code)
    if (exact.length === 0) return { found: false, why: 'unlisted', hubIds: [] }
    const valid = all.filter((l) => l.validUntil > now)
    // Two peers claiming one agency, or a case variant of it: neither is believed (a hub must not
    // be able to pull another's agency to itself by listing it, in any letter case); the operator
    // settles it with an explicit route.
    if (valid.length > 1) return { found: false, why: 'conflict', hubIds: valid.map((l) => l.hubId) }
    const only = valid[0]
    if (only?.agency.code !== code) return { found: false, why: 'expired', hubIds: exact.map((l) => l.hubId) }
    return { found: true, hubId: only.hubId, version: only.version }
  }

  private listing (code: string, hubId: string): Listing | undefined {
    return this.byFolded.get(foldCode(code))?.find((l) => l.hubId === hubId && l.agency.code === code)
  }

  signerBinding (agency: string, signer: SignerIdentity, options: { now?: Date, servedBy?: string } = {}): SignerBinding {
    const found = this.lookup(agency, options.now)
    if (!found.found) {
      if (found.why === 'unlisted') return { bound: false, code: 'DIRECTORY_AGENCY_UNKNOWN', detail: `no peer's signed directory lists agency ${agency}` }
      if (found.why === 'expired') return { bound: false, code: 'DIRECTORY_EXPIRED', detail: `the signed directory listing agency ${agency} (${found.hubIds.join(', ')}) is past its valid-until` }
      return { bound: false, code: 'DIRECTORY_CONFLICT', detail: `agency ${agency} is listed by several peers (${found.hubIds.join(', ')})` }
    }
    if (options.servedBy != null && options.servedBy !== found.hubId) {
      return { bound: false, code: 'DIRECTORY_HUB_MISMATCH', detail: `agency ${agency} is served by hub ${found.hubId}, not ${options.servedBy}` }
    }
    const listing = this.listing(agency, found.hubId) as Listing
    if (bindsSigner(listing.agency, signer)) return { bound: true, hubId: found.hubId, version: found.version }
    return { bound: false, code: 'DIRECTORY_SIGNER_NOT_BOUND', detail: `certificate ${signer.fingerprintSha256} is not bound to agency ${agency} in hub ${found.hubId}'s directory version ${found.version}` }
  }
}

/**
 * The registry's binding rule (AgencyRegistry.binds), over a directory entry: a listed
 * fingerprint, or every subject-rule attribute present with exactly that value. An attribute
 * name this hub does not know never matches (fail closed).
 */
export function bindsSigner (agency: StoredDirectoryAgency, signer: SignerIdentity): boolean {
  if (agency.signerFingerprints.includes(signer.fingerprintSha256)) return true
  const rule = Object.entries(agency.subjectRule ?? {})
  if (rule.length === 0) return false
  return rule.every(([name, expected]) => {
    const oid = subjectAttributeOid(name)
    return oid != null && (signer.subject.get(oid) ?? []).includes(expected)
  })
}

/**
 * A provider that reloads its snapshot from the database every `reloadMs` (and on `reload()`),
 * so gateways see what a worker's refresh accepted. Lookups never wait for the database.
 */
export interface ReloadingDirectoryProvider extends DirectoryProvider {
  snapshot: () => DirectorySnapshot
  reload: () => Promise<void>
  close: () => void
}

export async function openDirectoryProvider (db: Queryable, reloadMs: number, onError: (err: unknown) => void = () => {}): Promise<ReloadingDirectoryProvider> {
  let current = await DirectorySnapshot.load(db)
  const reload = async (): Promise<void> => { current = await DirectorySnapshot.load(db) }
  const timer = setInterval(() => { reload().catch(onError) }, reloadMs)
  timer.unref()
  return {
    peerFor: (code, now) => current.peerFor(code, now),
    lookup: (code, now) => current.lookup(code, now),
    signerBinding: (agency, signer, options) => current.signerBinding(agency, signer, options),
    snapshot: () => current,
    reload,
    close: () => { clearInterval(timer) }
  }
}
