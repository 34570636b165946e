/**
 * Why a peer's directory was not accepted: stable codes, stored with the peer's state, shown by
 * readiness and `lienthong directory peers`, and asserted by the tests. Never renamed; add at the end.
 */
export const DIRECTORY_REFUSAL_SENTENCES = {
  DIRECTORY_FETCH_FAILED: 'the directory could not be fetched (network, TLS, the peer\'s TLS pin, an HTTP status other than 200, or a timeout)',
  DIRECTORY_TOO_LARGE: 'the directory is larger than the size cap',
  DIRECTORY_INVALID: 'the bytes are not a lienthong hub directory (version 1), or the signature is not of the directory profile',
  DIRECTORY_SIGNATURE_INVALID: 'the signature does not verify: the directory was altered after signing or the signature value is forged',
  DIRECTORY_UNTRUSTED: 'the signer certificate does not chain to the shared trust anchors, is expired, revoked, without fresh revocation data, or unfit for signing',
  DIRECTORY_SIGNER_NOT_PEER: 'the directory is signed by a trusted certificate that is not the peer\'s pinned hub signing certificate',
  DIRECTORY_HUB_MISMATCH: 'the directory names another hub id than the peer it was fetched from',
  DIRECTORY_STALE: 'the directory is past its valid-until time',
  DIRECTORY_NOT_YET_VALID: 'the directory is issued in the future (beyond the allowed clock skew)',
  DIRECTORY_ROLLBACK: 'the directory\'s version is lower than the one already accepted from this peer',
  DIRECTORY_VERSION_REUSED: 'the directory has the version already accepted from this peer but other content: a hub must issue a new version for new content'
} as const

export type DirectoryRefusalCode = keyof typeof DIRECTORY_REFUSAL_SENTENCES

export class DirectoryRefusal extends Error {
  /** `reason` is the shared verifier's reason code behind the refusal, when there is one (DIGEST_MISMATCH...). */
  constructor (readonly code: DirectoryRefusalCode, detail: string, readonly reason?: string) {
    super(detail)
    this.name = 'DirectoryRefusal'
  }
}
