import type { HubPin } from '../evidence/receipts/hub-pin.js'
import type { PushPin } from '../registry/push-endpoint.js'
import type { ResolvedRoute } from './route.js'

/**
 * Another lienthong hub this hub exchanges documents with (issue 13). The table behind it
 * (peer_hubs) belongs to the routing work; forwarding is written against this interface only.
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
  /** Its receipt-signing certificate: the acceptance receipt of a hop must be signed by it. */
  signingPin: HubPin
}

/** Looks peers up by id (sending) and by the TLS client certificate they present (receiving). */
export interface PeerHubs {
  byId: (hubId: string) => Promise<PeerHub | undefined>
  byClientCertificate: (fingerprintSha256: string) => Promise<PeerHub | undefined>
}

/** Where a recipient code leads from this hub (the routing work's route table behind it). */
export interface RouteResolver {
  resolve: (recipientCode: string) => Promise<ResolvedRoute | undefined>
}

/** Lower-case hex without colons: how Node's fingerprint256 ("AB:CD:...") is compared. */
export function plainFingerprint (text: string): string {
  return text.replace(/:/g, '').toLowerCase()
}

/** A fixed list of peers (tests; a hub configured without the peer table). */
export function staticPeerHubs (peers: readonly PeerHub[]): PeerHubs {
  return {
    byId: async (hubId) => peers.find((p) => p.hubId === hubId),
    byClientCertificate: async (fingerprint) => {
      const wanted = plainFingerprint(fingerprint)
      return peers.find((p) => p.clientCertificates.some((c) => plainFingerprint(c) === wanted))
    }
  }
}

/**
 * Explicit codes, then the longest matching prefix of dot-separated groups read from the right
 * (`H98` serves `000.00.31.H98`), then `*`: a fixed table for tests until the routing work's
 * table is merged. Codes not in it resolve to nothing.
 */
export function staticRoutes (table: Record<string, ResolvedRoute['target']>): RouteResolver {
  return {
    resolve: async (code) => {
      if (table[code] != null) return { target: table[code], source: 'explicit', rule: code }
      const groups = code.split('.')
      for (let n = groups.length - 1; n >= 1; n--) {
        const suffix = groups.slice(groups.length - n).join('.')
        if (table[suffix] != null) return { target: table[suffix], source: 'prefix', rule: suffix }
      }
      if (table['*'] != null) return { target: table['*'], source: 'default', rule: '*' }
      return undefined
    }
  }
}
