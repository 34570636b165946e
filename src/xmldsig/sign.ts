import { createHash, sign, type KeyObject } from 'node:crypto'
import { canonicalize, canonicalizeTo, C14N_METHODS, EXC_C14N, withoutComments } from './c14n.js'
import { parseXml } from './parse.js'
import { DSIG_NS, ENVELOPED_SIGNATURE, HASH_OF } from './signature-profile.js'
import type { XmlDocument, XmlElement } from './xml-tree.js'

export interface SignatureSpec {
  /**
   * The signer's private key, parsed once by its holder (createPrivateKey): parsing a PEM costs
   * ~2 ms of RSA key import, more than the signature itself, on every receipt the hub signs.
   */
  privateKey: KeyObject
  /** Base64 DER certificates for KeyInfo/X509Data, signer first. */
  certificates: string[]
  signatureMethod: string
  digestMethod: string
  /** Used for SignedInfo and as the reference's C14N transform. */
  canonicalization: string
  /** '' (whole document) or '#<Id of the root element>'. */
  referenceUri: string
  /**
   * Where the signature goes: after this element (`after`) or as the last child of it
   * (`append`). Chosen on the parsed unsigned document.
   */
  place: (doc: XmlDocument) => { after: XmlElement } | { append: XmlElement }
  /** Prefix of the XML-DSig elements; '' declares the XML-DSig namespace as the default. */
  prefix?: string
}

export class XmlSigningError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'XmlSigningError'
  }
}

/**
 * Signs `xml` with an enveloped XML-DSig signature of the hub's profile, inserted as text so
 * every other byte of the input stays as it was. Both digests are computed with the hub's own
 * C14N, the one the verifier uses and that is proven byte-identical to libxml2, so whatever
 * we sign verifies in xmlsec1 and the reverse (test/interop).
 */
export function signXml (xml: string, spec: SignatureSpec): string {
  if (!C14N_METHODS.has(spec.canonicalization)) throw new XmlSigningError(`unsupported canonicalization ${spec.canonicalization}`)
  const text = signingText(xml)
  return signParsedXml(text, parseXml(text), spec)
}

/** The UTF-8 bytes signXml works on: the text without a leading byte order mark. */
export function signingText (xml: string): Buffer {
  return Buffer.from(xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml, 'utf8')
}

/**
 * signXml over a document its caller has parsed already (the receipt signer parses once to check
 * the receipt, and signs that same tree): `doc` must be parseXml of exactly `text` (signingText),
 * with no processing instruction in it (signXml's own parse refuses them).
 */
export function signParsedXml (text: Buffer, doc: XmlDocument, spec: SignatureSpec): string {
  if (!C14N_METHODS.has(spec.canonicalization)) throw new XmlSigningError(`unsupported canonicalization ${spec.canonicalization}`)
  const place = spec.place(doc)
  // Byte offsets: the parser reports where elements end in the UTF-8 input.
  const offset = 'after' in place ? place.after.end : endTagStart(text, place.append)

  const hash = createHash(hashOf(spec.digestMethod))
  canonicalizeTo(doc, {
    method: withoutComments(spec.canonicalization),
    ...(spec.referenceUri === '' ? {} : { apex: doc.root })
  }, (chunk) => { if (typeof chunk === 'string') hash.update(chunk, 'utf8'); else hash.update(chunk) })
  const digest = hash.digest('base64')

  const p = spec.prefix ?? 'ds'
  if (p !== '' && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(p)) throw new XmlSigningError(`unusable prefix ${JSON.stringify(p)}`)
  const n = (local: string): string => p === '' ? local : `${p}:${local}`
  const signedInfo = `<${n('SignedInfo')}>` +
    `<${n('CanonicalizationMethod')} Algorithm="${spec.canonicalization}"/>` +
    `<${n('SignatureMethod')} Algorithm="${spec.signatureMethod}"/>` +
    `<${n('Reference')} URI="${escapeAttr(spec.referenceUri)}"><${n('Transforms')}>` +
    `<${n('Transform')} Algorithm="${ENVELOPED_SIGNATURE}"/><${n('Transform')} Algorithm="${spec.canonicalization}"/>` +
    `</${n('Transforms')}><${n('DigestMethod')} Algorithm="${spec.digestMethod}"/><${n('DigestValue')}>${digest}</${n('DigestValue')}></${n('Reference')}>` +
    `</${n('SignedInfo')}>`
  const keyInfo = `<${n('KeyInfo')}><${n('X509Data')}>${spec.certificates.map((c) => `<${n('X509Certificate')}>${c}</${n('X509Certificate')}>`).join('')}</${n('X509Data')}></${n('KeyInfo')}>`
  const declaration = p === '' ? `xmlns="${DSIG_NS}"` : `xmlns:${p}="${DSIG_NS}"`
  const build = (value: string): string => `<${n('Signature')} ${declaration}>${signedInfo}<${n('SignatureValue')}>${value}</${n('SignatureValue')}>${keyInfo}</${n('Signature')}>`

  const around = (inserted: string): Buffer => Buffer.concat([text.subarray(0, offset), Buffer.from(inserted, 'utf8'), text.subarray(offset)])
  let canonicalInfo = exclusiveSignedInfo(spec, digest)
  if (canonicalInfo == null) {
    // SignedInfo is canonicalised in place: inclusive C14N pulls in the namespaces and xml:*
    // attributes in scope where the signature stands, so it is parsed where it will live.
    const draftDoc = parseXml(around(build('')))
    const info = draftDoc.elements.find((e) => e.uri === DSIG_NS && e.local === 'SignedInfo') as XmlElement
    canonicalInfo = canonicalize(draftDoc, { method: spec.canonicalization, apex: info })
  }
  const value = sign(HASH_OF[spec.signatureMethod] ?? 'sha256', Buffer.from(canonicalInfo, 'utf8'), spec.privateKey).toString('base64')
  return around(build(value)).toString('utf8')
}

/** Algorithm URIs and references that need no escaping in an attribute, as written and as canonicalised. */
const PLAIN_ATTRIBUTE = /^[A-Za-z0-9:/#._-]*$/

/**
 * The exclusive C14N of the SignedInfo signXml writes, without parsing it back (issue 15: the
 * hub signs a receipt per accepted document). Exclusive C14N with SignedInfo as the apex renders
 * nothing of the context it stands in (no inherited namespaces, no xml:* attributes): the
 * XML-DSig namespace is declared once on SignedInfo, the only namespace it and its descendants
 * visibly use, and every empty element is written as a start and an end tag. That holds for the
 * exact text built above only, so anything else (inclusive C14N, an attribute value that C14N
 * would escape) returns undefined and is canonicalised the long way, by parsing the draft.
 * test/evidence/receipts.test.ts compares both ways, and xmlsec1 checks the result (test/interop).
 */
export function exclusiveSignedInfo (spec: Pick<SignatureSpec, 'canonicalization' | 'signatureMethod' | 'digestMethod' | 'referenceUri' | 'prefix'>, digest: string): string | undefined {
  if (spec.canonicalization !== EXC_C14N) return undefined
  const p = spec.prefix ?? 'ds'
  if (![spec.canonicalization, spec.signatureMethod, spec.digestMethod, spec.referenceUri].every((v) => PLAIN_ATTRIBUTE.test(v))) return undefined
  if (!/^[A-Za-z0-9+/=]*$/.test(digest)) return undefined
  const n = (local: string): string => p === '' ? local : `${p}:${local}`
  const empty = (local: string, algorithm: string): string => `<${n(local)} Algorithm="${algorithm}"></${n(local)}>`
  const declaration = p === '' ? `xmlns="${DSIG_NS}"` : `xmlns:${p}="${DSIG_NS}"`
  return `<${n('SignedInfo')} ${declaration}>` +
    empty('CanonicalizationMethod', spec.canonicalization) +
    empty('SignatureMethod', spec.signatureMethod) +
    `<${n('Reference')} URI="${spec.referenceUri}"><${n('Transforms')}>` +
    empty('Transform', ENVELOPED_SIGNATURE) + empty('Transform', spec.canonicalization) +
    `</${n('Transforms')}>${empty('DigestMethod', spec.digestMethod)}<${n('DigestValue')}>${digest}</${n('DigestValue')}></${n('Reference')}>` +
    `</${n('SignedInfo')}>`
}

function hashOf (digestMethod: string): string {
  const name = HASH_OF[digestMethod]
  if (name == null) throw new XmlSigningError(`unsupported digest ${digestMethod}`)
  return name
}

function endTagStart (text: Buffer, element: XmlElement): number {
  const at = text.lastIndexOf('</', element.end)
  const tag = Buffer.from(`</${element.qname}`, 'utf8')
  if (at < 0 || !text.subarray(at, at + tag.length).equals(tag)) throw new XmlSigningError(`<${element.qname}> has no end tag to sign into`)
  return at
}

function escapeAttr (value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
}
