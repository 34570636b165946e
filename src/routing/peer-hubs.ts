import type { Queryable } from '../db/database.js'
import type { HubPin } from '../evidence/receipts/hub-pin.js'
import type { PushPin } from '../registry/push-endpoint.js'
import { findPeerByClientCertificate, findPeerById } from '../store/peer-forwarding.js'
import type { PeerRow } from '../store/routes.js'

/**
 * Another lienthong hub this hub exchanges documents with (issue 13), as forwarding uses it: the
 * routing table's row (route_peers, migration 015, from the registry file or `lienthong peer`)
 * with its fingerprints turned into the pins the TLS client and the receipt verifier take.
 */
export interface PeerHub {
  /** Its LIENTHONG_HUB_ID: what it writes in hop lists. */
  hubId: string
  /** Its gateway, where POST /peer/v1/documents is (https://...). */
  baseUrl: string
  /** Its gateway's TLS server certificate: checked in the handshake before a byte is sent. */
  serverPin: PushPin
  /** SHA-256 fingerprints (hex) of the TLS client certificates it forwards to us with. */
  clientCertificates: readonly string[]
  /** Its receipt-signing certificates: the acceptance receipt of a hop must be signed by one of them. */
  signingPin: HubPin
}

/** Looks peers up by id (sending) and by the TLS client certificate they present (receiving). */
export interface PeerHubs {
  byId: (hubId: string) => Promise<PeerHub | undefined>
  byClientCertificate: (fingerprintSha256: string) => Promise<PeerHub | undefined>
}

/** Lower-case hex without colons: how Node's fingerprint256 ("AB:CD:...") is compared. */
export function plainFingerprint (text: string): string {
  return text.replace(/:/g, '').toLowerCase()
}

export function peerHubOf (row: PeerRow): PeerHub {
  return {
    hubId: row.hub_id,
    baseUrl: row.base_url,
    serverPin: { fingerprints: row.server_certificates.map(plainFingerprint) },
    clientCertificates: row.client_certificates.map(plainFingerprint),
    signingPin: { fingerprintsSha256: row.signing_certificates.map(plainFingerprint) }
  }
}

/**
 * The peers as stored now: read at each lookup (one indexed row), so a peer added or removed with
 * the CLI or a registry reload counts at once in every gateway and worker, without a restart.
 * A hub with no peers answers undefined to every lookup: its /peer scope admits no one.
 */
export function storedPeerHubs (db: Queryable): PeerHubs {
  return {
    byId: async (hubId) => {
      const row = await findPeerById(db, hubId)
      return row != null ? peerHubOf(row) : undefined
    },
    byClientCertificate: async (fingerprint) => {
      const row = await findPeerByClientCertificate(db, plainFingerprint(fingerprint))
      return row != null ? peerHubOf(row) : undefined
    }
  }
}
