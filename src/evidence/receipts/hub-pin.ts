import type { X509Certificate } from 'node:crypto'
import { subjectAttributeOid } from '../../pki/subject-attributes.js'
import type { ValidatedSigner } from '../../pki/path-validation.js'

/**
 * Who may sign receipts. Path validation only says a certificate is trusted; any agency's
 * certificate is trusted too, so the verifier must also be told which one is the hub's.
 * - `fingerprintsSha256`: the hub certificate(s), SHA-256 of the DER (hex, any case, colons
 *   allowed). Strongest; list the old and the new certificate across a key rollover.
 * - `subjectUid`: the UID attribute the CA puts in the hub's certificate (000.00.00.HUB in the
 *   example PKI). Survives certificate renewal, but trusts the CA not to issue that UID to anyone else.
 * Every pin given must match; at least one must be given.
 */
export interface HubPin {
  fingerprintsSha256?: readonly string[]
  subjectUid?: string
}

const UID_OID = subjectAttributeOid('UID') as string

/** The pin of one hub certificate (e.g. `hubPinOf(hub.certificate)` or a certificate from a file). */
export function hubPinOf (...certificates: X509Certificate[]): HubPin {
  return { fingerprintsSha256: certificates.map((c) => normalizeFingerprint(c.fingerprint256)) }
}

/** Lower-case hex without separators; throws on anything that is not a SHA-256 fingerprint. */
export function normalizeFingerprint (text: string): string {
  const hex = text.replace(/[:\s]/g, '').toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`"${text}" is not a SHA-256 certificate fingerprint (64 hex digits)`)
  return hex
}

/**
 * The pin with fingerprints normalised; throws when it names nobody or holds something that is not
 * a fingerprint (a configuration bug, reported before any receipt is looked at).
 */
export function normalizeHubPin (pin: HubPin): HubPin {
  const fingerprints = (pin.fingerprintsSha256 ?? []).map(normalizeFingerprint)
  const uid = pin.subjectUid ?? ''
  if (fingerprints.length === 0 && uid === '') throw new Error('verifyReceipt needs the hub pin: at least one certificate fingerprint or a subject UID')
  return { ...(fingerprints.length > 0 ? { fingerprintsSha256: fingerprints } : {}), ...(uid !== '' ? { subjectUid: uid } : {}) }
}

/** Undefined when the signer is the hub according to a normalised pin, otherwise why not. */
export function checkHubPin (pin: HubPin, signer: ValidatedSigner): string | undefined {
  if (pin.fingerprintsSha256 != null && !pin.fingerprintsSha256.includes(signer.leaf.fingerprintSha256)) {
    return `the signer ${signer.leaf.subject} (SHA-256 ${signer.leaf.fingerprintSha256}) is not the hub certificate`
  }
  if (pin.subjectUid != null) {
    const uids = signer.subject.get(UID_OID) ?? []
    if (uids.length !== 1 || uids[0] !== pin.subjectUid) {
      return `the signer ${signer.leaf.subject} does not carry the hub's subject UID ${pin.subjectUid}`
    }
  }
  return undefined
}
