/**
 * The signed hub directory with the hub's configuration (docs/directory.md): the publisher the
 * gateway serves, the refresh of peers' directories (in `start` and `worker`), and the readiness
 * check (gateways).
 */
import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { PeriodicTask } from '../background/periodic-task.js'
import type { HubConfig } from '../config/config.js'
import type { Database, Queryable } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import type { TrustStore } from '../pki/trust-store.js'
import type { AgencyEntry } from '../registry/registry-format.js'
import { configuredDirectoryPeers } from '../routing/directory/configured-peers.js'
import { directoryReadiness, peerDirectoryReports } from '../routing/directory/directory-readiness.js'
import { DirectoryPublisher } from '../routing/directory/publish-directory.js'
import { startDirectoryRefresh, type PeerRefreshOutcome } from '../routing/directory/refresh-directories.js'
import type { CheckOutcome } from './readiness-checks.js'

export function configuredDirectoryPublisher (config: HubConfig, db: Database, hub: HubIdentity, agencies: () => readonly AgencyEntry[]): DirectoryPublisher {
  return new DirectoryPublisher({ db, hubId: config.hubId, hub, agencies, validityMs: config.directory.validityMs })
}

/** Fetches peers' directories at start and every LIENTHONG_DIRECTORY_REFRESH_MS (one process at a time). */
export async function startConfiguredDirectoryRefresh (config: HubConfig, db: Database, trustStore: () => TrustStore, logger: Logger, onRound?: (outcomes: PeerRefreshOutcome[]) => void): Promise<PeriodicTask<PeerRefreshOutcome[]>> {
  // The hub's TLS client certificate (peers may require mTLS on their port) and the CAs of their servers.
  const tls = {
    cert: await readFile(config.delivery.clientCertFile),
    key: await readFile(config.delivery.clientKeyFile),
    ...(config.delivery.serverCaFile != null ? { ca: await readFile(config.delivery.serverCaFile) } : {})
  }
  return startDirectoryRefresh({
    db,
    peers: async () => await configuredDirectoryPeers(db),
    trustStore,
    requireRevocation: config.requireRevocation,
    maxBytes: config.directory.maxBytes,
    timeoutMs: config.delivery.timeoutMs,
    tls,
    intervalMs: config.directory.refreshMs,
    logger,
    ...(onRound != null ? { onRound } : {})
  })
}

/** Readiness: every configured peer has a directory in force (see directoryReadiness). */
export function directoryReadinessCheck (db: Queryable): () => Promise<CheckOutcome> {
  return async () => {
    const peers = (await configuredDirectoryPeers(db)).map((p) => p.hubId)
    return directoryReadiness(await peerDirectoryReports(db, peers), peers)
  }
}
