import type { Queryable } from '../../db/database.js'
import { listPeers, type PeerRow } from '../../store/routes.js'
import { DIRECTORY_WELL_KNOWN_PATH } from './directory-path.js'
import type { DirectoryPeer } from './directory-peer.js'

/** A peer of the route table as the directory needs it: its directory URL and both pins. */
export function directoryPeerOf (row: Pick<PeerRow, 'hub_id' | 'base_url' | 'server_certificates' | 'signing_certificates'>): DirectoryPeer {
  return {
    hubId: row.hub_id,
    directoryUrl: new URL(DIRECTORY_WELL_KNOWN_PATH, row.base_url.endsWith('/') ? row.base_url : `${row.base_url}/`).toString(),
    tlsPin: { fingerprints: row.server_certificates },
    signingPin: { fingerprintsSha256: row.signing_certificates }
  }
}

/**
 * The peer hubs configured in the route table (table route_peers: registry `peers` and
 * `lienthong peer`), each with its TLS server pin and its signing certificate pin.
 */
export async function configuredDirectoryPeers (db: Queryable): Promise<DirectoryPeer[]> {
  // A peer without both pins could never have its directory fetched and verified.
  return (await listPeers(db)).filter((r) => r.signing_certificates.length > 0 && r.server_certificates.length > 0).map(directoryPeerOf)
}
