import { decodeBase64Strict } from './base64.js'
import { C14N_10, C14N_METHODS, EXC_C14N, EXC_C14N_COMMENTS } from './c14n.js'
import { XmlDsigFailure, refuse } from './xmldsig-failure.js'
import { attributeValue, type XmlDocument, type XmlElement } from './xml-tree.js'

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#'
export const EXC_C14N_NS = 'http://www.w3.org/2001/10/xml-exc-c14n#'
export const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'

export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
export const RSA_SHA512 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512'
export const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1'
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256'
export const SHA512 = 'http://www.w3.org/2001/04/xmlenc#sha512'

/** Node's name for the hash of each allowed algorithm. */
export const HASH_OF: Readonly<Record<string, 'sha1' | 'sha256' | 'sha512'>> = {
  [RSA_SHA1]: 'sha1',
  [RSA_SHA256]: 'sha256',
  [RSA_SHA512]: 'sha512',
  [SHA1]: 'sha1',
  [SHA256]: 'sha256',
  [SHA512]: 'sha512'
}

export const STRONG_SIGNATURE_ALGORITHMS: ReadonlySet<string> = new Set([RSA_SHA256, RSA_SHA512])
export const STRONG_DIGEST_ALGORITHMS: ReadonlySet<string> = new Set([SHA256, SHA512])
/** Accepted only where the caller allows weak algorithms (per agency), and reported as weak. */
export const WEAK_SIGNATURE_ALGORITHMS: ReadonlySet<string> = new Set([RSA_SHA1])
export const WEAK_DIGEST_ALGORITHMS: ReadonlySet<string> = new Set([SHA1])

export const MAX_KEYINFO_CERTIFICATES = 5
/** 16 KB of base64 is far beyond any real certificate; bounds what we hand to ASN.1 parsers. */
export const MAX_CERTIFICATE_BASE64 = 16 * 1024
const MAX_VALUE_BASE64 = 4096

/**
 * Attributes a verifier might take as an element's Id (`Id`, `ID`, `id`, `xml:id`) all count
 * when the Id is checked for uniqueness (counted while parsing: parse.ts, `rootIdHolders`), but
 * only `Id` may be what a Reference names (xmlsec1 resolves `#x` only through an attribute
 * registered as an ID, which signers register as `Id`).
 */
const REFERENCE_ID_ATTRIBUTE = 'Id'
/** An xs:ID is an NCName; `#xpointer(/)` and friends are XPointer, with other semantics. */
const NCNAME = /^[A-Za-z_\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD][A-Za-z0-9_.\-\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C-\u200D\u203F-\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD]*$/
/** InclusiveNamespaces PrefixList entries: real signers name a handful (the C14N cost is per element x entry). */
export const MAX_INCLUSIVE_PREFIXES = 16
/** Text of the descriptive X509Data children (a DN, a serial number). */
const MAX_DESCRIPTIVE_TEXT = 1024
/** Attributes an unsigned part of the signature may carry (XML-DSig defines only Id there). */
const UNSIGNED_ATTRIBUTES = ['Id']

/** Where the one signature may stand. */
export type SignaturePlacement = (signature: XmlElement, root: XmlElement) => boolean

export interface ProfileOptions {
  /**
   * Tolerate X509SubjectName and X509IssuerSerial beside the certificates (real edXML signers
   * write them). Hub receipts never carry them, so their verifier says false.
   */
  descriptiveX509Data?: boolean
}

export const DIRECT_CHILD_OF_ROOT: SignaturePlacement = (signature, root) => signature.parent === root

/** The one signature of a document, checked for shape and algorithms but not yet for crypto. */
export interface SignatureProfile {
  signature: XmlElement
  signedInfo: XmlElement
  referenceUri: string
  /** SignedInfo's CanonicalizationMethod and its InclusiveNamespaces PrefixList. */
  canonicalization: string
  signedInfoPrefixes: string[]
  /** The C14N applied to the referenced content (C14N 1.0 when the Transforms name none). */
  referenceCanonicalization: string
  referencePrefixes: string[]
  signatureMethod: string
  digestMethod: string
  transforms: string[]
  digestValue: Buffer
  signatureValue: Buffer
  /** True when an algorithm was accepted only because weak algorithms are allowed. */
  weak: boolean
  /** base64 DER of every X509Certificate in KeyInfo, in document order (untrusted input). */
  certificates: string[]
}

/**
 * The hub's one XML-DSig profile, enforced on the parsed tree before any cryptography:
 * exactly one ds:Signature where `placement` allows; exactly SignedInfo, SignatureValue and
 * KeyInfo/X509Data inside it and nothing else (an Object, a KeyValue or a foreign element is
 * unsigned content travelling with signed content); one Reference covering the whole document
 * (URI="" or the root's unique Id); transforms enveloped-signature then at most one C14N;
 * allow-listed algorithms; values in strict base64. Linear in the document: it looks only at
 * the counts the parser made and at the signature's own subtree.
 */
export function readSignatureProfile (doc: XmlDocument, allowWeak: boolean, placement: SignaturePlacement, options: ProfileOptions = {}): SignatureProfile {
  const root = doc.root
  // Counted over every element while parsing (parse.ts), so nothing here depends on what the
  // tree kept.
  const { dsigElements, signatures } = doc.facts
  if (signatures === 0) refuse('SIGNATURE_MISSING', 'no ds:Signature element in the XML-DSig namespace')
  if (signatures > 1) refuse('SIGNATURE_AMBIGUOUS', `${signatures} ds:Signature elements; exactly one is accepted`)
  const signature = doc.facts.firstSignature as XmlElement
  if (!placement(signature, root)) refuse('SIGNATURE_LOCATION', 'ds:Signature is not where the profile puts it')
  if (countDsig(signature) !== dsigElements) refuse('SIGNATURE_AMBIGUOUS', 'an XML-DSig element stands outside ds:Signature')

  const top = elementsOf(signature)
  if (top.length === 2 && top.every((e, i) => e.uri === DSIG_NS && e.local === ['SignedInfo', 'SignatureValue'][i])) {
    refuse('CERT_MISSING', 'the signature has no KeyInfo: no X509Certificate to validate')
  }
  const [signedInfo, signatureValueElement, keyInfo] = exactChildren(signature, ['SignedInfo', 'SignatureValue', 'KeyInfo'], 'Signature')
  // Everything but SignedInfo is unsigned: no attributes beyond Id that could carry data.
  for (const e of [signature, signatureValueElement, keyInfo]) onlyIdAttribute(e)
  const [c14nElement, signatureMethodElement, reference] = exactChildren(signedInfo, ['CanonicalizationMethod', 'SignatureMethod', 'Reference'], 'SignedInfo')

  let weak = false
  const pick = (element: XmlElement, strong: ReadonlySet<string>, weakSet: ReadonlySet<string>): string => {
    const algorithm = attributeValue(element, 'Algorithm') ?? ''
    if (strong.has(algorithm)) return algorithm
    if (weakSet.has(algorithm)) {
      if (!allowWeak) refuse('ALGORITHM_FORBIDDEN', `${element.local} ${algorithm} (SHA-1) is refused; weak algorithms are not allowed for this signer`)
      weak = true
      return algorithm
    }
    return refuse('ALGORITHM_FORBIDDEN', `${element.local} ${algorithm || '(none)'} is not on the allow-list`)
  }

  const canonicalization = attributeValue(c14nElement, 'Algorithm') ?? ''
  if (!C14N_METHODS.has(canonicalization)) refuse('ALGORITHM_FORBIDDEN', `CanonicalizationMethod ${canonicalization || '(none)'} is not on the allow-list`)
  const signedInfoPrefixes = c14nParameters(c14nElement, canonicalization)
  const signatureMethod = pick(signatureMethodElement, STRONG_SIGNATURE_ALGORITHMS, WEAK_SIGNATURE_ALGORITHMS)
  noElementChildren(signatureMethodElement)

  const referenceUri = checkReferenceTarget(doc, reference)
  const referenceChildren = elementsOf(reference)
  const hasTransforms = referenceChildren[0]?.local === 'Transforms'
  const [digestMethodElement, digestValueElement] = exactChildren(reference, hasTransforms ? ['Transforms', 'DigestMethod', 'DigestValue'] : ['DigestMethod', 'DigestValue'], 'Reference').slice(hasTransforms ? 1 : 0)
  const { transforms, referenceCanonicalization, referencePrefixes } = checkTransforms(hasTransforms ? referenceChildren[0] : undefined)
  const digestMethod = pick(digestMethodElement as XmlElement, STRONG_DIGEST_ALGORITHMS, WEAK_DIGEST_ALGORITHMS)
  noElementChildren(digestMethodElement as XmlElement)

  const digestValue = base64Value(digestValueElement as XmlElement, 'DigestValue')
  const signatureValue = base64Value(signatureValueElement, 'SignatureValue')
  return {
    signature,
    signedInfo,
    referenceUri,
    canonicalization,
    signedInfoPrefixes,
    referenceCanonicalization,
    referencePrefixes,
    signatureMethod,
    digestMethod,
    transforms,
    digestValue,
    signatureValue,
    weak,
    certificates: keyInfoCertificates(keyInfo, options.descriptiveX509Data !== false)
  }
}

function countDsig (element: XmlElement): number {
  let n = element.uri === DSIG_NS ? 1 : 0
  for (const c of element.children) if (c.kind === 'element') n += countDsig(c)
  return n
}

/** Element children of `parent`, refusing non-whitespace text beside them. */
function elementsOf (parent: XmlElement): XmlElement[] {
  const out: XmlElement[] = []
  for (const c of parent.children) {
    if (c.kind === 'element') out.push(c)
    else if (c.kind === 'text' && !/^[ \t\r\n]*$/.test(c.value)) refuse('SIGNATURE_FOREIGN_CONTENT', `${parent.local} holds text beside its elements`)
    else if (c.kind === 'pi') refuse('SIGNATURE_FOREIGN_CONTENT', `${parent.local} holds a processing instruction`)
  }
  return out
}

function exactChildren (parent: XmlElement, names: string[], what: string): [XmlElement, XmlElement, XmlElement] {
  const children = elementsOf(parent)
  const found = children.map((c) => c.uri === DSIG_NS ? c.local : `{${c.uri}}${c.local}`)
  if (children.length !== names.length || children.some((c, i) => c.uri !== DSIG_NS || c.local !== names[i])) {
    const repeated = names.some((n) => found.filter((f) => f === n).length > 1)
    const known = new Set(['SignedInfo', 'SignatureValue', 'KeyInfo', 'CanonicalizationMethod', 'SignatureMethod', 'Reference', 'Transforms', 'DigestMethod', 'DigestValue'])
    const foreign = found.some((f) => !known.has(f))
    refuse(foreign ? 'SIGNATURE_FOREIGN_CONTENT' : 'SIGNATURE_AMBIGUOUS',
      `${what} must contain exactly ${names.join(', ')} in this order${repeated ? ' (one of each)' : ''}; found ${found.join(', ') || 'nothing'}`)
  }
  return children as [XmlElement, XmlElement, XmlElement]
}

function noElementChildren (element: XmlElement): void {
  if (elementsOf(element).length > 0) refuse('SIGNATURE_FOREIGN_CONTENT', `${element.local} must be empty (no parameters are accepted)`)
}

/** Only exclusive C14N takes a parameter: one ec:InclusiveNamespaces with a PrefixList. */
function c14nParameters (element: XmlElement, algorithm: string): string[] {
  const children = elementsOf(element)
  if (children.length === 0) return []
  const exclusive = algorithm === EXC_C14N || algorithm === EXC_C14N_COMMENTS
  const only = children[0] as XmlElement
  if (!exclusive || children.length > 1 || only.uri !== EXC_C14N_NS || only.local !== 'InclusiveNamespaces' || elementsOf(only).length > 0) {
    refuse('TRANSFORM_FORBIDDEN', `${algorithm} carries a parameter other than one InclusiveNamespaces`)
  }
  const list = attributeValue(only, 'PrefixList') ?? ''
  const prefixes = [...new Set(list.split(/[ \t\r\n]+/).filter((p) => p !== ''))]
  if (prefixes.length > MAX_INCLUSIVE_PREFIXES) refuse('TRANSFORM_FORBIDDEN', `InclusiveNamespaces names ${prefixes.length} prefixes; at most ${MAX_INCLUSIVE_PREFIXES} are accepted`)
  for (const p of prefixes) {
    if (p !== '#default' && !NCNAME.test(p)) refuse('TRANSFORM_FORBIDDEN', `InclusiveNamespaces names ${JSON.stringify(p.slice(0, 40))}, which is not a prefix`)
  }
  return prefixes
}

/**
 * The Reference must be the whole document: URI="" or "#<Id of the root element>", and that Id
 * unique. Otherwise a genuine signed element can be hidden under an attacker's new root
 * (signature wrapping).
 */
function checkReferenceTarget (doc: XmlDocument, reference: XmlElement): string {
  const uri = attributeValue(reference, 'URI')
  if (uri === undefined) refuse('REFERENCE_NOT_DOCUMENT', 'Reference has no URI attribute')
  if (uri === '') return uri
  if (!uri.startsWith('#')) refuse('REFERENCE_NOT_DOCUMENT', `Reference URI "${uri.slice(0, 80)}" is not a same-document reference`)
  const id = uri.slice(1)
  if (!NCNAME.test(id)) refuse('REFERENCE_NOT_DOCUMENT', `Reference URI "${uri.slice(0, 80)}" is not a bare-name Id (XPointer is not accepted)`)
  if (attributeValue(doc.root, REFERENCE_ID_ATTRIBUTE) !== id) refuse('REFERENCE_NOT_DOCUMENT', `Reference URI "${uri.slice(0, 80)}" does not name the root element's Id`)
  const holders = doc.facts.rootIdHolders
  if (holders !== 1) refuse('REFERENCE_NOT_DOCUMENT', `Id "${id.slice(0, 80)}" is carried by ${holders} attributes; it must be unique`)
  return uri
}

/** enveloped-signature, then at most one C14N: the profile's only transforms, in this order. */
function checkTransforms (container: XmlElement | undefined): { transforms: string[], referenceCanonicalization: string, referencePrefixes: string[] } {
  const transforms = container != null ? elementsOf(container) : []
  if (transforms.length === 0) refuse('TRANSFORM_FORBIDDEN', 'the Reference has no enveloped-signature transform')
  if (transforms.length > 2) refuse('TRANSFORM_FORBIDDEN', `${transforms.length} transforms; at most 2 are accepted`)
  const algorithms: string[] = []
  let referenceCanonicalization = C14N_10
  let referencePrefixes: string[] = []
  transforms.forEach((t, i) => {
    if (t.uri !== DSIG_NS || t.local !== 'Transform') refuse('TRANSFORM_FORBIDDEN', `unexpected <${t.qname}> in Transforms`)
    const algorithm = attributeValue(t, 'Algorithm') ?? ''
    if (i === 0) {
      if (algorithm !== ENVELOPED_SIGNATURE) refuse('TRANSFORM_FORBIDDEN', `the first transform must be enveloped-signature, found ${algorithm || '(none)'}`)
      noElementChildren(t)
    } else {
      if (!C14N_METHODS.has(algorithm)) refuse('TRANSFORM_FORBIDDEN', `transform ${algorithm || '(none)'} is not allowed (only enveloped-signature and one C14N)`)
      referenceCanonicalization = algorithm
      referencePrefixes = c14nParameters(t, algorithm)
    }
    algorithms.push(algorithm)
  })
  return { transforms: algorithms, referenceCanonicalization, referencePrefixes }
}

function base64Value (element: XmlElement, name: string): Buffer {
  if (!textOnly(element)) refuse('SIGNATURE_MALFORMED', `${name} must hold only base64 text`)
  const text = textOf(element)
  if (text.length > MAX_VALUE_BASE64) refuse('SIGNATURE_MALFORMED', `${name} is longer than ${MAX_VALUE_BASE64} characters`)
  const bytes = decodeBase64Strict(text)
  if (bytes == null) refuse('SIGNATURE_MALFORMED', `${name} is empty or not strict base64`)
  return bytes
}

function keyInfoCertificates (keyInfo: XmlElement, descriptive: boolean): string[] {
  const data = elementsOf(keyInfo)
  if (data.length !== 1 || data[0]?.uri !== DSIG_NS || data[0].local !== 'X509Data') {
    refuse(data.every((d) => d.uri === DSIG_NS && d.local === 'X509Data') && data.length > 0 ? 'SIGNATURE_AMBIGUOUS' : 'SIGNATURE_FOREIGN_CONTENT',
      'KeyInfo must hold exactly one X509Data and nothing else (a bare KeyValue is never trusted)')
  }
  const x509Data = data[0] as XmlElement
  noAttributes(x509Data)
  const certificates: string[] = []
  for (const item of elementsOf(x509Data)) {
    if (item.uri !== DSIG_NS) refuse('SIGNATURE_FOREIGN_CONTENT', `X509Data holds a foreign element <${item.qname}>`)
    noAttributes(item)
    // X509SubjectName and X509IssuerSerial describe the certificate and are what real signers
    // write beside it; they are never read, and hold nothing but their short text (KeyInfo is
    // not signed: anything else there would travel as if it were).
    if (descriptive && item.local === 'X509SubjectName') {
      descriptiveText(item)
      continue
    }
    if (descriptive && item.local === 'X509IssuerSerial') {
      const parts = elementsOf(item)
      if (parts.length !== 2 || parts.some((p, i) => p.uri !== DSIG_NS || p.local !== ['X509IssuerName', 'X509SerialNumber'][i])) {
        refuse('SIGNATURE_FOREIGN_CONTENT', 'X509IssuerSerial must hold exactly X509IssuerName and X509SerialNumber')
      }
      for (const p of parts) {
        noAttributes(p)
        descriptiveText(p)
      }
      if (!/^[ \t\r\n]*-?[0-9]+[ \t\r\n]*$/.test(textOf(parts[1] as XmlElement))) refuse('SIGNATURE_FOREIGN_CONTENT', 'X509SerialNumber is not an integer')
      continue
    }
    if (item.local !== 'X509Certificate') refuse('SIGNATURE_FOREIGN_CONTENT', `X509Data holds <${item.qname}>; only X509Certificate${descriptive ? ' (and X509SubjectName, X509IssuerSerial)' : ''} is accepted`)
    if (!textOnly(item)) refuse('CERT_MALFORMED', 'an X509Certificate holds elements')
    const text = textOf(item)
    if (text.length > MAX_CERTIFICATE_BASE64) refuse('CERT_MALFORMED', 'an X509Certificate in KeyInfo is larger than 16 KB')
    const der = decodeBase64Strict(text)
    if (der == null) refuse('CERT_MALFORMED', 'an X509Certificate in KeyInfo is empty or not strict base64')
    certificates.push(der.toString('base64'))
    if (certificates.length > MAX_KEYINFO_CERTIFICATES) refuse('CERT_MALFORMED', `KeyInfo carries more than ${MAX_KEYINFO_CERTIFICATES} certificates`)
  }
  if (certificates.length === 0) refuse('CERT_MISSING', 'KeyInfo carries no X509Certificate')
  return certificates
}

function descriptiveText (element: XmlElement): void {
  if (!element.children.every((c) => c.kind === 'text')) refuse('SIGNATURE_FOREIGN_CONTENT', `${element.local} must hold only text`)
  if (textOf(element).length > MAX_DESCRIPTIVE_TEXT) refuse('SIGNATURE_FOREIGN_CONTENT', `${element.local} is longer than ${MAX_DESCRIPTIVE_TEXT} characters`)
}

function onlyIdAttribute (element: XmlElement): void {
  for (const a of element.attributes) {
    if (!(a.uri === '' && UNSIGNED_ATTRIBUTES.includes(a.local))) refuse('SIGNATURE_FOREIGN_CONTENT', `${element.local} carries an attribute ${a.qname} (only Id is accepted)`)
  }
}

function noAttributes (element: XmlElement): void {
  if (element.attributes.length > 0) refuse('SIGNATURE_FOREIGN_CONTENT', `${element.local} carries an attribute ${(element.attributes[0] as { qname: string }).qname}`)
}

function textOnly (element: XmlElement): boolean {
  return element.children.every((c) => c.kind === 'text' || c.kind === 'comment')
}

function textOf (element: XmlElement): string {
  let out = ''
  for (const c of element.children) if (c.kind === 'text') out += c.value
  return out
}

export { XmlDsigFailure }
