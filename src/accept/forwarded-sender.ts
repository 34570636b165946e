/**
 * Sender binding of a document a peer hub forwarded, when this hub's registry does not know its
 * sender (neither an agency of this hub nor a `peerAgencies` entry): the signer must be bound to
 * the sending agency in the signed directory of the hub the document started at (the first hop),
 * as this hub verified and holds it (docs/directory.md, "Sender binding of forwarded documents").
 *
 * Why the first hop's directory: an agency submits at its own hub, which vouches for its signers
 * in its signed directory; the hubs after it only relay. A forwarding hub cannot make this hub
 * believe a signer by naming another origin either: the directory that binds the agency must be
 * that origin's, and an agency listed by two peers is believed from neither.
 */
import type { UnboundSigner } from '../domain/verdict.js'
import type { ReasonCode } from '../domain/reason-codes.js'
import type { DirectoryProvider } from '../routing/directory/directory-provider.js'
import type { Hop } from '../routing/hops.js'

export type ForwardedSenderBinding =
  | { bound: true, hubId: string, version: number, flag: string }
  | { bound: false, code: Extract<ReasonCode, 'SENDER_MISMATCH' | 'AGENCY_UNKNOWN'>, detail: string }

/**
 * The directories in force; `reload` (the gateway's provider) re-reads them from PostgreSQL. In
 * `serve` the refresh runs in a worker and the gateway's snapshot follows it every 30 s: an agency
 * missing or stale in the snapshot is looked up once more in what the database holds now, so a
 * directory accepted a moment ago does not fail a peer's hop (a 4xx fails it for good).
 */
export type ForwardingDirectory = Pick<DirectoryProvider, 'signerBinding'> & { reload?: () => Promise<void> }

export async function bindForwardedSender (
  directory: ForwardingDirectory | undefined,
  agency: string,
  signer: UnboundSigner,
  hops: readonly Hop[],
  now = new Date()
): Promise<ForwardedSenderBinding> {
  const origin = hops[0]?.hub
  const fallback = `(the registry has no agency or peerAgencies entry for ${agency})`
  if (directory == null || origin == null) {
    return { bound: false, code: 'AGENCY_UNKNOWN', detail: `the sending agency ${agency} is not in the agency registry, and this hub holds no peer directories ${fallback}` }
  }
  const identity = { fingerprintSha256: signer.fingerprintSha256, subject: new Map(Object.entries(signer.subject)) }
  let found = directory.signerBinding(agency, identity, { now, servedBy: origin })
  if (!found.bound && (found.code === 'DIRECTORY_AGENCY_UNKNOWN' || found.code === 'DIRECTORY_EXPIRED' || found.code === 'DIRECTORY_SIGNER_NOT_BOUND') && directory.reload != null) {
    await directory.reload()
    found = directory.signerBinding(agency, identity, { now, servedBy: origin })
  }
  if (found.bound) return { bound: true, hubId: found.hubId, version: found.version, flag: `sender-bound-by-directory:${found.hubId}@${found.version}` }
  // A certificate the origin's directory does not bind, or an agency another hub serves: the
  // signer is not the sender's. Unlisted, stale or contested: nobody here vouches for the agency.
  const code = found.code === 'DIRECTORY_SIGNER_NOT_BOUND' || found.code === 'DIRECTORY_HUB_MISMATCH' ? 'SENDER_MISMATCH' : 'AGENCY_UNKNOWN'
  return { bound: false, code, detail: `${found.code}: ${found.detail}; the document started at hub ${origin} ${fallback}` }
}
