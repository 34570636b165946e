/**
 * Fetching and accepting peers' directories: at start and then every interval, for each peer,
 * GET its directory over pinned TLS, verify it (directory-signature.ts), check what only the
 * peer and what we hold can tell (hub id, validity window, version never going back), and make
 * it the one in force. A refused directory changes nothing but the peer's recorded state: the
 * one held stays in force until its own valid-until, after which the provider routes nothing to
 * that peer by directory (fail closed). One process at a time across the cluster (a lease).
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { startPeriodicTask, type PeriodicTask } from '../../background/periodic-task.js'
import type { Database } from '../../db/database.js'
import type { TrustStore } from '../../pki/trust-store.js'
import { acceptDirectory, acceptedDirectories, recordDirectoryAttempt, type AcceptedDirectory } from '../../store/peer-directories.js'
import { listAgencyCodes } from '../../store/agencies.js'
import { foldCode } from './directory-provider.js'
import { peerMayServe, type DirectoryPeer } from './directory-peer.js'
import { DirectoryRefusal, type DirectoryRefusalCode } from './directory-refusal.js'
import { verifyDirectory } from './directory-signature.js'
import { fetchDirectory, type FetchDirectoryOptions } from './fetch-directory.js'

export interface DirectoryRefreshOptions {
  db: Database
  /** The peers now (read every round: a peer added to the route table counts without a restart). */
  peers: () => Promise<readonly DirectoryPeer[]>
  trustStore: () => TrustStore | Promise<TrustStore>
  requireRevocation: boolean
  maxBytes: number
  timeoutMs: number
  tls?: FetchDirectoryOptions['tls']
  /** A directory issued this far in the future is still taken (clocks differ); default 5 minutes. */
  clockSkewMs?: number
  now?: () => Date
  logger?: Logger
}

export type PeerRefreshOutcome =
  /**
   * `dropped`: codes outside what the peer is configured to serve; `local`: codes equal, ignoring
   * letter case, to an agency of this hub (DIRECTORY_CODE_LOCAL). Neither is routed or bound by.
   */
  | { hubId: string, outcome: 'accepted', version: number, dropped: string[], local: string[] }
  | { hubId: string, outcome: 'unchanged', version: number }
  | { hubId: string, outcome: 'refused', code: DirectoryRefusalCode, detail: string, reason?: string, heldVersion?: number }

const DEFAULT_SKEW_MS = 5 * 60_000

/** One round over every peer (no lease: startDirectoryRefresh decides whether this process runs it). */
export async function refreshDirectories (options: DirectoryRefreshOptions): Promise<PeerRefreshOutcome[]> {
  const peers = await options.peers()
  const held = new Map((await acceptedDirectories(options.db, peers.map((p) => p.hubId))).map((d) => [d.hubId, d]))
  const store = await options.trustStore()
  return await Promise.all(peers.map(async (peer) => await refreshPeer(peer, held.get(peer.hubId), store, options)))
}

async function refreshPeer (peer: DirectoryPeer, held: AcceptedDirectory | undefined, trustStore: TrustStore, options: DirectoryRefreshOptions): Promise<PeerRefreshOutcome> {
  const now = options.now?.() ?? new Date()
  const log = options.logger
  try {
    const fetched = await fetchDirectory({
      url: peer.directoryUrl,
      tlsPin: peer.tlsPin,
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes,
      ...(options.tls != null ? { tls: options.tls } : {}),
      ...(held != null ? { etag: `"${held.sha256}"` } : {})
    })
    if (fetched.status === 'unchanged') {
      const version = (held as AcceptedDirectory).version
      checkWindow(peer, held as AcceptedDirectory, now, options.clockSkewMs ?? DEFAULT_SKEW_MS)
      await recordDirectoryAttempt(options.db, peer.hubId, now, null)
      return { hubId: peer.hubId, outcome: 'unchanged', version }
    }
    const bytes = fetched.bytes
    if (bytes.length > options.maxBytes) throw new DirectoryRefusal('DIRECTORY_TOO_LARGE', `${bytes.length} bytes; the cap is ${options.maxBytes}`)
    const { directory, signer } = await verifyDirectory(bytes, trustStore, { signer: peer.signingPin, now, requireRevocation: options.requireRevocation })
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    if (directory.hubId !== peer.hubId) throw new DirectoryRefusal('DIRECTORY_HUB_MISMATCH', `the directory is hub ${directory.hubId}'s, fetched as peer ${peer.hubId}'s`)
    checkWindow(peer, directory, now, options.clockSkewMs ?? DEFAULT_SKEW_MS)
    if (held != null) {
      if (directory.version < held.version) throw new DirectoryRefusal('DIRECTORY_ROLLBACK', `version ${directory.version} is lower than version ${held.version} accepted ${held.acceptedAt.toISOString()}`)
      if (directory.version === held.version) {
        if (sha256 !== held.sha256) throw new DirectoryRefusal('DIRECTORY_VERSION_REUSED', `version ${directory.version} was accepted with other bytes (sha256 ${held.sha256}, now ${sha256})`)
        await recordDirectoryAttempt(options.db, peer.hubId, now, null)
        return { hubId: peer.hubId, outcome: 'unchanged', version: held.version }
      }
    }
    // What the peer claims beyond what it is configured to serve is not routed by (and said so).
    const dropped = directory.agencies.filter((a) => !peerMayServe(peer.serves, a.code)).map((a) => a.code)
    // A peer listing one of our agencies, in any letter case (000.00.00.h41 beside our
    // 000.00.00.H41), would catch documents misaddressed in another case and bind signers for a
    // look-alike of our agency: ignored, and said so (DIRECTORY_CODE_LOCAL).
    const ours = new Set((await listAgencyCodes(options.db)).map(foldCode))
    const local = directory.agencies.filter((a) => peerMayServe(peer.serves, a.code) && ours.has(foldCode(a.code))).map((a) => a.code)
    const agencies = directory.agencies.filter((a) => peerMayServe(peer.serves, a.code) && !ours.has(foldCode(a.code)))
    const accepted = await acceptDirectory(options.db, {
      hubId: peer.hubId,
      version: directory.version,
      issuedAt: directory.issuedAt,
      validUntil: directory.validUntil,
      sha256,
      signerFingerprint: signer.leaf.fingerprintSha256,
      agencies,
      signedBytes: bytes
    }, now)
    if (!accepted) {
      // Another refresh accepted this version or a newer one in the meantime.
      await recordDirectoryAttempt(options.db, peer.hubId, now, null)
      return { hubId: peer.hubId, outcome: 'unchanged', version: directory.version }
    }
    if (local.length > 0) log?.warn({ peer: peer.hubId, version: directory.version, code: 'DIRECTORY_CODE_LOCAL', local: local.slice(0, 50), count: local.length }, 'directory refresh: the peer lists codes equal (ignoring letter case) to agencies of this hub; ignored')
    if (dropped.length > 0) log?.warn({ peer: peer.hubId, version: directory.version, dropped: dropped.slice(0, 50), count: dropped.length }, 'directory refresh: the peer claims agencies outside what it is configured to serve; not routed by')
    log?.info({ peer: peer.hubId, version: directory.version, agencies: agencies.length, validUntil: directory.validUntil.toISOString() }, 'directory refresh: accepted a new directory')
    return { hubId: peer.hubId, outcome: 'accepted', version: directory.version, dropped, local }
  } catch (err) {
    if (!(err instanceof DirectoryRefusal)) throw err
    const detail = err.message
    await recordDirectoryAttempt(options.db, peer.hubId, now, { code: err.code, detail })
    log?.warn({ peer: peer.hubId, code: err.code, reason: err.reason, detail, heldVersion: held?.version, heldValidUntil: held?.validUntil.toISOString() },
      'directory refresh: directory refused; the one held stays in force until its valid-until')
    return { hubId: peer.hubId, outcome: 'refused', code: err.code, detail, ...(err.reason != null ? { reason: err.reason } : {}), ...(held != null ? { heldVersion: held.version } : {}) }
  }
}

function checkWindow (peer: DirectoryPeer, d: { issuedAt: Date, validUntil: Date, version: number }, now: Date, skewMs: number): void {
  if (d.validUntil <= now) throw new DirectoryRefusal('DIRECTORY_STALE', `peer ${peer.hubId}'s directory version ${d.version} was valid until ${d.validUntil.toISOString()}`)
  if (d.issuedAt.getTime() > now.getTime() + skewMs) throw new DirectoryRefusal('DIRECTORY_NOT_YET_VALID', `peer ${peer.hubId}'s directory version ${d.version} is issued at ${d.issuedAt.toISOString()}, in the future`)
}

export interface DirectoryRefreshJobOptions extends DirectoryRefreshOptions {
  intervalMs: number
  onRound?: (outcomes: PeerRefreshOutcome[]) => void
}

/** The schedule: a round now, then one every `intervalMs`, in one process at a time (lease `directory-refresh`). */
export function startDirectoryRefresh (options: DirectoryRefreshJobOptions): PeriodicTask<PeerRefreshOutcome[]> {
  return startPeriodicTask({
    name: 'directory-refresh',
    intervalMs: options.intervalMs,
    firstDelayMs: 0,
    lease: { db: options.db },
    run: async () => {
      const outcomes = await refreshDirectories(options)
      options.onRound?.(outcomes)
      return outcomes
    },
    onError: (err) => options.logger?.warn({ err }, 'directory refresh: round failed (database unreachable?); retried next round')
  })
}
