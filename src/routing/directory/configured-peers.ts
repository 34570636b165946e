import type { Queryable } from '../../db/database.js'
import { DIRECTORY_WELL_KNOWN_PATH } from './directory-path.js'
import type { DirectoryPeer } from './directory-peer.js'

interface PeerRow { hub_id: string, base_url: string, server_certificates: string[], signing_certificates: string[] }

/** A peer of the route table as the directory needs it: its directory URL and both pins. */
export function directoryPeerOf (row: PeerRow): DirectoryPeer {
  return {
    hubId: row.hub_id,
    directoryUrl: new URL(DIRECTORY_WELL_KNOWN_PATH, row.base_url.endsWith('/') ? row.base_url : `${row.base_url}/`).toString(),
    tlsPin: { fingerprints: row.server_certificates },
    signingPin: { fingerprintsSha256: row.signing_certificates }
  }
}

/**
 * The peer hubs configured in the route table (table route_peers, the routing part of issue 13:
 * registry `peers` and `lienthong peer`). Until that migration exists in this database there are
 * no peers, and nothing is fetched.
 */
export async function configuredDirectoryPeers (db: Queryable): Promise<DirectoryPeer[]> {
  const { rows: exists } = await db.query<{ t: string | null }>("SELECT to_regclass('route_peers')::text AS t")
  if (exists[0]?.t == null) return []
  const { rows } = await db.query<PeerRow>('SELECT hub_id, base_url, server_certificates, signing_certificates FROM route_peers ORDER BY hub_id')
  // A peer without a pinned signing certificate could never have its directory verified.
  return rows.filter((r) => r.signing_certificates.length > 0 && r.server_certificates.length > 0).map(directoryPeerOf)
}
