import { validateSigner, type ValidatedSigner } from '../../pki/path-validation.js'
import type { TrustStore } from '../../pki/trust-store.js'
import type { ReasonCode } from '../../domain/reason-codes.js'
import type { CertificateSummary } from '../../domain/verdict.js'
import { VerificationFailure, fail } from '../../errors/verification-failure.js'
import { verifyCryptography } from '../../verification/verify-document.js'
import { parseForVerification, xmldsigStep } from '../../verification/xmldsig-steps.js'
import { DIRECT_CHILD_OF_ROOT, ENVELOPED_SIGNATURE, readSignatureProfile, type SignatureProfile } from '../../xmldsig/signature-profile.js'
import type { XmlElement } from '../../xmldsig/xml-tree.js'
import { RECEIPT_NS, ReceiptFormatError, type Receipt } from './format.js'
import { checkHubPin, normalizeHubPin, type HubPin } from './hub-pin.js'
import { readReceipt } from './read.js'
import { EXC_C14N } from './sign.js'

/** Why a receipt is refused: the document verifier's codes, plus two that only receipts have. */
export type ReceiptFailureCode = ReasonCode | 'RECEIPT_INVALID' | 'SIGNER_NOT_HUB'

export const RECEIPT_FAILURE_SENTENCES: Record<'RECEIPT_INVALID' | 'SIGNER_NOT_HUB', string> = {
  RECEIPT_INVALID: 'the document is not a lienthong receipt (version 1) or a field breaks the receipt format',
  SIGNER_NOT_HUB: 'the receipt is signed by a trusted certificate that is not the hub\'s'
}

export interface VerifyReceiptOptions {
  /** Who the hub is: a receipt signed by any other certificate is refused, however trusted. */
  hub: HubPin
  /** Verify as of this time (default: now). */
  now?: Date
  /** Fail closed without fresh CRLs (default true, as for documents). */
  requireRevocation?: boolean
  /** Size cap in bytes (default 1 MiB; receipts are a few KB). */
  maxBytes?: number
}

export type ReceiptVerification =
  | { ok: true, fields: Receipt, signer: CertificateSummary, chain: CertificateSummary[] }
  | { ok: false, code: ReceiptFailureCode, detail: string }

export const DEFAULT_RECEIPT_MAX_BYTES = 1024 * 1024
/** Receipt + Signature + SignedInfo + Reference + Transforms + Transform + InclusiveNamespaces. */
const MAX_DEPTH = 16

class ReceiptRefusal extends Error {
  constructor (readonly code: 'RECEIPT_INVALID' | 'SIGNER_NOT_HUB', detail: string) {
    super(detail)
  }
}

/**
 * Offline check of a hub receipt, with the discipline of verifyDocument(): strict parse, one
 * signature of the fixed receipt shape, path validation of the KeyInfo certificate, the signer
 * pinned to the hub, the cryptographic check with the validated certificate, and the fields read
 * from the signed bytes only. Never throws for bad input.
 */
export async function verifyReceipt (xml: string | Uint8Array, trustStore: TrustStore, options: VerifyReceiptOptions): Promise<ReceiptVerification> {
  const hub = normalizeHubPin(options.hub)
  try {
    const bytes = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength)
    const maxBytes = options.maxBytes ?? DEFAULT_RECEIPT_MAX_BYTES
    if (bytes.length > maxBytes) fail('PAYLOAD_TOO_LARGE', `the receipt has ${bytes.length} bytes; the cap is ${maxBytes}`)
    // The same strict parse as documents: no DTD, no processing instruction, XML 1.0 UTF-8.
    const doc = parseForVerification(bytes, { maxDepth: MAX_DEPTH })
    const root = doc.root
    if (root.uri !== RECEIPT_NS || root.local !== 'Receipt') {
      throw new ReceiptRefusal('RECEIPT_INVALID', `the root element is {${root.uri}}${root.local}, not {${RECEIPT_NS}}Receipt`)
    }
    if (doc.children.some((n) => n.kind === 'pi')) throw new ReceiptRefusal('RECEIPT_INVALID', 'only the XML declaration may stand outside <Receipt>')

    const profile = xmldsigStep(() => readSignatureProfile(doc, false, DIRECT_CHILD_OF_ROOT, { descriptiveX509Data: false }))
    checkReceiptShape(profile)

    const signer: ValidatedSigner = await validateSigner(trustStore, profile.certificates, {
      now: options.now ?? new Date(),
      requireRevocation: options.requireRevocation ?? true
    })
    const mismatch = checkHubPin(hub, signer)
    if (mismatch != null) throw new ReceiptRefusal('SIGNER_NOT_HUB', mismatch)

    verifyCryptography(doc, profile, signer.leafPem)
    // Read from the tree that was just digested, without the signature (which is not signed).
    let fields: Receipt
    try {
      fields = readReceipt(root, profile.signature as XmlElement, { comments: 'skip' })
    } catch (err) {
      if (err instanceof ReceiptFormatError) throw new ReceiptRefusal('RECEIPT_INVALID', err.message)
      throw err
    }
    return { ok: true, fields, signer: signer.leaf, chain: signer.chain }
  } catch (err) {
    if (err instanceof VerificationFailure || err instanceof ReceiptRefusal) return { ok: false, code: err.code, detail: err.message }
    throw err
  }
}

/**
 * On top of the hub's XML-DSig profile a receipt has a fixed shape: the signature is a direct
 * child of <Receipt>, the Reference is URI="" (no Id attribute to point at), and the transforms
 * and canonicalization are exactly enveloped-signature + exclusive C14N without comments.
 */
export function checkReceiptShape (profile: SignatureProfile): void {
  if (profile.referenceUri !== '') fail('REFERENCE_NOT_DOCUMENT', `a receipt signature references URI="", not "${profile.referenceUri}"`)
  if (profile.transforms.length !== 2 || profile.transforms[0] !== ENVELOPED_SIGNATURE || profile.transforms[1] !== EXC_C14N) {
    fail('TRANSFORM_FORBIDDEN', 'a receipt signature has exactly the transforms enveloped-signature, then exclusive C14N')
  }
  if (profile.canonicalization !== EXC_C14N) fail('ALGORITHM_FORBIDDEN', `a receipt's SignedInfo is canonicalized with exclusive C14N, not ${profile.canonicalization}`)
}
