/**
 * Signing and verifying the hub directory with the hub's key, in the very profile of the hub's
 * receipts (enveloped XML-DSig, RSA-SHA256, exclusive C14N, Reference URI="", the certificate
 * and its chain in KeyInfo): one signer, one verifier, and xmlsec1 checks it offline like a
 * receipt. XML-DSig rather than JWS: the hub already ships and differential-tests this exact
 * profile, operators already verify receipts with it, and a second signature stack would be a
 * second thing to get right.
 */
import type { HubIdentity } from '../../evidence/hub-identity.js'
import { checkReceiptShape } from '../../evidence/receipts/verify.js'
import { checkHubPin, normalizeHubPin, type HubPin } from '../../evidence/receipts/hub-pin.js'
import { VerificationFailure } from '../../errors/verification-failure.js'
import { validateSigner, type ValidatedSigner } from '../../pki/path-validation.js'
import { readPemBlocks } from '../../pki/pem.js'
import type { TrustStore } from '../../pki/trust-store.js'
import { verifyCryptography } from '../../verification/verify-document.js'
import { parseForVerification, xmldsigStep } from '../../verification/xmldsig-steps.js'
import { EXC_C14N } from '../../xmldsig/c14n.js'
import { DIRECT_CHILD_OF_ROOT, readSignatureProfile, RSA_SHA256, SHA256 } from '../../xmldsig/signature-profile.js'
import { signXml } from '../../xmldsig/sign.js'
import type { KeepPolicy } from '../../xmldsig/parse.js'
import type { XmlDocument, XmlElement } from '../../xmldsig/xml-tree.js'
import { buildDirectoryXml, DIRECTORY_NS, DirectoryFormatError, readDirectory, type HubDirectory } from './directory-format.js'
import { DirectoryRefusal, type DirectoryRefusalCode } from './directory-refusal.js'

/** HubDirectory + Signature + SignedInfo + Reference + Transforms + Transform + InclusiveNamespaces; Agencies/Agency/Signers/x. */
const MAX_DEPTH = 16

/**
 * The whole tree, but no comment outside the signature: the Reference is digested without
 * comments and readDirectory skips them, and keeping them cost a comment and a text node per 8
 * bytes (`<!---->x`: 178 MB of heap, 274 MB RSS for a 4 MB directory, before its signature was
 * looked at; test/security/attack-peer-directory-memory.test.ts). Text is never cut short
 * (Infinity): the text around dropped comments is joined, and what is read is what was digested.
 */
const DIRECTORY_TREE: KeepPolicy = { keep: () => 'content', maxKeptText: Infinity }

/** The strict parse of a directory's bytes, as verifyDirectory does it (exported for the memory test). */
export function parseDirectoryTree (bytes: Buffer): XmlDocument {
  return parseForVerification(bytes, { maxDepth: MAX_DEPTH }, { keep: DIRECTORY_TREE })
}

/** The signed directory XML (deterministic for the same directory and hub key). */
export function signDirectory (directory: HubDirectory, hub: HubIdentity): string {
  return signXml(buildDirectoryXml(directory), {
    privateKey: hub.privateKey,
    certificates: readPemBlocks(hub.certificatePem).filter((b) => b.label === 'CERTIFICATE').map((b) => Buffer.from(b.der).toString('base64')),
    signatureMethod: RSA_SHA256,
    digestMethod: SHA256,
    canonicalization: EXC_C14N,
    referenceUri: '',
    place: (d) => ({ append: d.root })
  })
}

export interface VerifyDirectoryOptions {
  /** The peer's pinned hub signing certificate(s): any other signer is refused, however trusted. */
  signer: HubPin
  now: Date
  requireRevocation: boolean
}

export interface VerifiedDirectory {
  directory: HubDirectory
  signer: ValidatedSigner
}

/** Reason codes of the shared verifier, grouped into the directory's own refusal codes. */
const CAUSES: Partial<Record<string, DirectoryRefusalCode>> = {
  DIGEST_MISMATCH: 'DIRECTORY_SIGNATURE_INVALID',
  SIGNATURE_INVALID: 'DIRECTORY_SIGNATURE_INVALID',
  CERT_UNTRUSTED: 'DIRECTORY_UNTRUSTED',
  CERT_EXPIRED: 'DIRECTORY_UNTRUSTED',
  CERT_REVOKED: 'DIRECTORY_UNTRUSTED',
  REVOCATION_UNAVAILABLE: 'DIRECTORY_UNTRUSTED',
  CERT_USAGE: 'DIRECTORY_UNTRUSTED',
  CERT_MISSING: 'DIRECTORY_UNTRUSTED',
  CERT_MALFORMED: 'DIRECTORY_UNTRUSTED'
}

/**
 * Verifies signed directory bytes with the discipline of the document verifier: strict parse, one
 * signature of the receipt profile, path validation of the KeyInfo certificate against the shared
 * trust anchors, the signer pinned to the peer's hub certificate, the cryptographic check with the
 * validated certificate, and the fields read from the verified tree only. Checks of content
 * (hub id, validity, version) are the caller's: they need the peer and what is held from it.
 * Throws DirectoryRefusal; the size cap is applied before (while fetching).
 */
export async function verifyDirectory (bytes: Buffer, trustStore: TrustStore, options: VerifyDirectoryOptions): Promise<VerifiedDirectory> {
  const pin = normalizeHubPin(options.signer)
  try {
    const doc = parseDirectoryTree(bytes)
    if (doc.root.uri !== DIRECTORY_NS || doc.root.local !== 'HubDirectory') throw new DirectoryRefusal('DIRECTORY_INVALID', `the root element is {${doc.root.uri}}${doc.root.local}, not {${DIRECTORY_NS}}HubDirectory`)
    const profile = xmldsigStep(() => readSignatureProfile(doc, false, DIRECT_CHILD_OF_ROOT, { descriptiveX509Data: false }))
    checkReceiptShape(profile)
    const signer = await validateSigner(trustStore, profile.certificates, { now: options.now, requireRevocation: options.requireRevocation })
    const mismatch = checkHubPin(pin, signer)
    if (mismatch != null) throw new DirectoryRefusal('DIRECTORY_SIGNER_NOT_PEER', mismatch)
    verifyCryptography(doc, profile, signer.leafPem)
    let directory: HubDirectory
    try {
      directory = readDirectory(doc.root, profile.signature as XmlElement)
    } catch (err) {
      if (err instanceof DirectoryFormatError) throw new DirectoryRefusal('DIRECTORY_INVALID', err.message)
      throw err
    }
    return { directory, signer }
  } catch (err) {
    if (err instanceof VerificationFailure) throw new DirectoryRefusal(CAUSES[err.code] ?? 'DIRECTORY_INVALID', err.message, err.code)
    throw err
  }
}
