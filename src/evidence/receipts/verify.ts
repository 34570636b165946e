import { SignedXml } from 'xml-crypto'
import { DSIG_NS } from '../../edxml/namespaces.js'
import { validateSigner, type ValidatedSigner } from '../../pki/path-validation.js'
import type { TrustStore } from '../../pki/trust-store.js'
import { ENVELOPED_SIGNATURE } from '../../verification/algorithms.js'
import { parseXmlStrict, XmlRefusal } from '../../verification/parse-xml.js'
import type { ReasonCode } from '../../verification/reason-codes.js'
import { inspectSignature, type SignatureShape } from '../../verification/signature-structure.js'
import type { CertificateSummary } from '../../verification/verdict.js'
import { VerificationFailure, fail } from '../../verification/verification-failure.js'
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
    const text = decode(xml, options.maxBytes ?? DEFAULT_RECEIPT_MAX_BYTES)
    const doc = parse(text)
    const root = doc.documentElement
    if (root.namespaceURI !== RECEIPT_NS || root.localName !== 'Receipt') {
      throw new ReceiptRefusal('RECEIPT_INVALID', `the root element is {${root.namespaceURI ?? ''}}${root.localName}, not {${RECEIPT_NS}}Receipt`)
    }

    // inspectSignature() would also accept a signature inside an edXMLHeader, and says so when
    // refusing one elsewhere; a receipt's place is simpler and said here first.
    const signatures = doc.getElementsByTagNameNS(DSIG_NS, 'Signature')
    if (signatures.length === 1 && signatures.item(0)?.parentNode !== root) fail('SIGNATURE_LOCATION', 'the receipt signature must be a direct child of <Receipt>')
    const shape = inspectSignature(doc, false)
    checkReceiptShape(root, shape)

    const signer: ValidatedSigner = await validateSigner(trustStore, shape.certificates, {
      now: options.now ?? new Date(),
      requireRevocation: options.requireRevocation ?? true
    })
    const mismatch = checkHubPin(hub, signer)
    if (mismatch != null) throw new ReceiptRefusal('SIGNER_NOT_HUB', mismatch)

    const signedXml = checkCryptography(text, shape, signer.leafPem)
    let fields: Receipt
    try {
      fields = readReceipt(parseXmlStrict(signedXml, { maxDepth: MAX_DEPTH }).documentElement)
    } catch (err) {
      if (err instanceof ReceiptFormatError || err instanceof XmlRefusal) throw new ReceiptRefusal('RECEIPT_INVALID', err.message)
      throw err
    }
    return { ok: true, fields, signer: signer.leaf, chain: signer.chain }
  } catch (err) {
    if (err instanceof VerificationFailure || err instanceof ReceiptRefusal) return { ok: false, code: err.code, detail: err.message }
    throw err
  }
}

function decode (xml: string | Uint8Array, maxBytes: number): string {
  const size = typeof xml === 'string' ? Buffer.byteLength(xml) : xml.byteLength
  if (size > maxBytes) fail('PAYLOAD_TOO_LARGE', `the receipt has ${size} bytes; the cap is ${maxBytes}`)
  if (typeof xml === 'string') return xml
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(xml)
  } catch {
    fail('XML_MALFORMED', 'the bytes are not valid UTF-8')
  }
}

function parse (text: string): Document {
  try {
    return parseXmlStrict(text, { maxDepth: MAX_DEPTH })
  } catch (err) {
    if (err instanceof XmlRefusal) fail(err.code, err.message)
    throw err
  }
}

/**
 * inspectSignature() applies the edXML rules (one signature, one Reference to the whole document,
 * allow-listed transforms and strong algorithms, bounded KeyInfo certificates). A receipt has a
 * fixed shape on top of that: the signature is a direct child of <Receipt> (edXMLHeader does not
 * exist here), the Reference is URI="" (no Id attribute to point at), and the transforms and
 * canonicalization are exactly enveloped-signature + exclusive C14N without comments.
 */
function checkReceiptShape (root: Element, shape: SignatureShape): void {
  if (shape.signature.parentNode !== root) fail('SIGNATURE_LOCATION', 'the receipt signature must be a direct child of <Receipt>')
  if (shape.referenceUri !== '') fail('REFERENCE_NOT_DOCUMENT', `a receipt signature references URI="", not "${shape.referenceUri}"`)
  if (shape.transforms.length !== 2 || shape.transforms[0] !== ENVELOPED_SIGNATURE || shape.transforms[1] !== EXC_C14N) {
    fail('TRANSFORM_FORBIDDEN', 'a receipt signature has exactly the transforms enveloped-signature, then exclusive C14N')
  }
  if (shape.canonicalization !== EXC_C14N) fail('ALGORITHM_FORBIDDEN', `a receipt's SignedInfo is canonicalized with exclusive C14N, not ${shape.canonicalization}`)
}

/**
 * The invariants of crypto-check.ts (key only from the validated certificate, never from KeyInfo,
 * CVE-2024-32962; no private key; no HMAC; a fresh SignedXml; algorithm tables reduced to what
 * the shape check accepted), returning the one signed reference: the canonical bytes of <Receipt>
 * without its signature, the only thing the fields are read from.
 */
function checkCryptography (xml: string, shape: SignatureShape, signerPem: string): string {
  const sig = new SignedXml({ publicCert: signerPem, getCertFromKeyInfo: () => null })
  sig.SignatureAlgorithms = only(sig.SignatureAlgorithms, [shape.signatureMethod])
  sig.HashAlgorithms = only(sig.HashAlgorithms, [shape.digestMethod])
  sig.CanonicalizationAlgorithms = only(sig.CanonicalizationAlgorithms, [EXC_C14N, ENVELOPED_SIGNATURE])
  sig.loadSignature(shape.signature)
  let valid: boolean
  try {
    valid = sig.checkSignature(xml)
  } catch (err) {
    fail('SIGNATURE_INVALID', `the signature value does not verify with the signer certificate (${firstLine(err)})`)
  }
  if (!valid) fail('DIGEST_MISMATCH', 'the digest of the signed content does not match: the receipt was changed after it was signed')
  const references = sig.getSignedReferences()
  if (references.length !== 1) fail('SIGNATURE_AMBIGUOUS', 'the signature did not authenticate exactly one reference')
  return references[0] as string
}

function only<T> (table: Record<string, T>, keys: readonly string[]): Record<string, T> {
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(table, k)).map((k) => [k, table[k] as T]))
}

function firstLine (err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 200) ?? ''
}
