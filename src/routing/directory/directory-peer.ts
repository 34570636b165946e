import type { HubPin } from '../../evidence/receipts/hub-pin.js'
import type { PushPin } from '../../registry/push-endpoint.js'

/**
 * What the directory needs to know of a peer hub (filled from the route table's peer hubs).
 * Both pins are required: the TLS pin says we talk to the peer's server, the signing pin says
 * the directory is the peer's own, whatever server or cache it came through.
 */
export interface DirectoryPeer {
  hubId: string
  /** Its directory: https://<peer>/.well-known/lienthong/directory. */
  directoryUrl: string
  /** The peer's TLS server certificate (fingerprints and/or subject), checked in the handshake. */
  tlsPin: PushPin
  /** The peer's hub signing certificate(s): the only signer its directory may carry. */
  signingPin: HubPin
  /**
   * Agency codes or code prefixes (`H98`, `000.00.31.H98`) the peer may claim; absent: any.
   * A code claimed outside them is dropped from what we route by (the signed bytes keep it).
   */
  serves?: readonly string[]
}

/**
 * Whether `code` falls under one of `serves`: the code itself, or a prefix group-wise from either
 * end (`H98` covers `000.00.31.H98`, as agency codes put the province last; `000.00` covers
 * `000.00.31.H98`).
 */
export function peerMayServe (serves: readonly string[] | undefined, code: string): boolean {
  if (serves == null) return true
  const groups = code.split('.')
  return serves.some((rule) => {
    if (rule === '*' || rule === code) return true
    const r = rule.split('.')
    if (r.length >= groups.length) return false
    return r.every((g, i) => groups[i] === g) || r.every((g, i) => groups[groups.length - r.length + i] === g)
  })
}
