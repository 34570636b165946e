import { DSIG_NS, EDXML_NS } from '../edxml/namespaces.js'
import {
  C14N_ALGORITHMS, ENVELOPED_SIGNATURE, MAX_TRANSFORMS, STRONG_DIGEST_ALGORITHMS, STRONG_SIGNATURE_ALGORITHMS,
  WEAK_DIGEST_ALGORITHMS, WEAK_SIGNATURE_ALGORITHMS
} from './algorithms.js'
import { fail } from './verification-failure.js'

/** The one signature of a document, checked for shape and algorithms but not yet for crypto. */
export interface SignatureShape {
  signature: Element
  referenceUri: string
  canonicalization: string
  signatureMethod: string
  digestMethod: string
  transforms: string[]
  /** True when an algorithm was accepted only because the agency allows weak algorithms. */
  weak: boolean
  /** base64 DER of every X509Certificate in KeyInfo, in document order (untrusted input). */
  certificates: string[]
}

export const MAX_KEYINFO_CERTIFICATES = 5
/** 16 KB of base64 is far beyond any real certificate; bounds what we hand to ASN.1 parsers. */
export const MAX_CERTIFICATE_BASE64 = 16 * 1024

const ID_ATTRIBUTES = ['Id', 'ID', 'id']

/**
 * security.md step 2-3: exactly one ds:Signature where the standard puts it, exactly one
 * SignedInfo and Reference, the Reference covering the whole document, and only allow-listed
 * transforms and algorithms. Every check is done on the parsed DOM before any cryptography, so
 * a document the checks do not understand is never handed to xml-crypto.
 */
export function inspectSignature (doc: Document, allowWeak: boolean): SignatureShape {
  const root = doc.documentElement
  const signatures = doc.getElementsByTagNameNS(DSIG_NS, 'Signature')
  if (signatures.length === 0) fail('SIGNATURE_MISSING', 'no ds:Signature element in the XML-DSig namespace')
  if (signatures.length > 1) fail('SIGNATURE_AMBIGUOUS', `${signatures.length} ds:Signature elements; exactly one is accepted`)
  const signature = signatures.item(0) as Element
  if (!isInStandardPlace(signature, root)) {
    fail('SIGNATURE_LOCATION', 'ds:Signature must be inside edXMLHeader or a direct child of the root element')
  }

  const signedInfos = signature.getElementsByTagNameNS(DSIG_NS, 'SignedInfo')
  if (signedInfos.length !== 1) fail('SIGNATURE_AMBIGUOUS', `${signedInfos.length} SignedInfo elements; exactly one is accepted`)
  const signedInfo = signedInfos.item(0) as Element
  if (signedInfo.parentNode !== signature) fail('SIGNATURE_AMBIGUOUS', 'SignedInfo is not a child of Signature')
  if (dsigChildren(signature, 'SignatureValue').length !== 1) fail('SIGNATURE_AMBIGUOUS', 'Signature must have exactly one SignatureValue')

  const references = signature.getElementsByTagNameNS(DSIG_NS, 'Reference')
  if (references.length !== 1) fail('SIGNATURE_AMBIGUOUS', `${references.length} Reference elements; exactly one is accepted`)
  const reference = references.item(0) as Element
  if (reference.parentNode !== signedInfo) fail('SIGNATURE_AMBIGUOUS', 'Reference is not a child of SignedInfo')

  const referenceUri = checkReferenceTarget(doc, reference)
  const transforms = checkTransforms(reference)

  let weak = false
  const pick = (name: string, strong: Set<string>, weakSet: Set<string> | undefined, parent: Element): string => {
    const methods = dsigChildren(parent, name)
    if (methods.length !== 1) fail('SIGNATURE_AMBIGUOUS', `expected exactly one ${name}`)
    const algorithm = (methods[0] as Element).getAttribute('Algorithm') ?? ''
    if (strong.has(algorithm)) return algorithm
    if (weakSet?.has(algorithm) === true) {
      if (!allowWeak) fail('ALGORITHM_FORBIDDEN', `${name} ${algorithm} (SHA-1) is refused; the registry does not allow weak algorithms for this agency`)
      weak = true
      return algorithm
    }
    fail('ALGORITHM_FORBIDDEN', `${name} ${algorithm || '(none)'} is not on the allow-list`)
  }
  const canonicalization = pick('CanonicalizationMethod', C14N_ALGORITHMS, undefined, signedInfo)
  const signatureMethod = pick('SignatureMethod', STRONG_SIGNATURE_ALGORITHMS, WEAK_SIGNATURE_ALGORITHMS, signedInfo)
  const digestMethod = pick('DigestMethod', STRONG_DIGEST_ALGORITHMS, WEAK_DIGEST_ALGORITHMS, reference)

  return { signature, referenceUri, canonicalization, signatureMethod, digestMethod, transforms, weak, certificates: keyInfoCertificates(signature) }
}

function isInStandardPlace (signature: Element, root: Element): boolean {
  const parent = signature.parentNode as Element | null
  if (parent === root) return true
  return parent != null && parent.namespaceURI === EDXML_NS && parent.localName === 'edXMLHeader' &&
    parent.parentNode != null && (parent.parentNode as Element).localName === 'edXMLEnvelope' &&
    parent.parentNode.parentNode === root
}

/**
 * The Reference must be the whole document: URI="" or "#<Id of the root element>", and that Id
 * must be unique. Otherwise a genuine signed element can be hidden under an attacker's new root
 * (signature wrapping) and xml-crypto would still report a valid signature.
 */
function checkReferenceTarget (doc: Document, reference: Element): string {
  if (!reference.hasAttribute('URI')) fail('REFERENCE_NOT_DOCUMENT', 'Reference has no URI attribute')
  const uri = reference.getAttribute('URI') ?? ''
  if (uri === '') return uri
  const root = doc.documentElement
  if (!uri.startsWith('#')) fail('REFERENCE_NOT_DOCUMENT', `Reference URI "${uri}" is not a same-document reference`)
  const id = uri.slice(1)
  const rootId = ID_ATTRIBUTES.map((name) => root.getAttribute(name)).find((value) => value != null && value !== '')
  if (rootId !== id) fail('REFERENCE_NOT_DOCUMENT', `Reference URI "${uri}" does not name the root element`)
  let holders = 0
  const all = doc.getElementsByTagName('*')
  for (let i = 0; i < all.length; i++) {
    const element = all.item(i) as Element
    if (ID_ATTRIBUTES.some((name) => element.getAttribute(name) === id)) holders++
  }
  if (holders !== 1) fail('REFERENCE_NOT_DOCUMENT', `Id "${id}" is carried by ${holders} elements; it must be unique`)
  return uri
}

function checkTransforms (reference: Element): string[] {
  const containers = dsigChildren(reference, 'Transforms')
  if (containers.length > 1) fail('TRANSFORM_FORBIDDEN', 'more than one Transforms element')
  const transforms = containers.length === 0 ? [] : elementChildren(containers[0] as Element)
  const algorithms: string[] = []
  let c14nCount = 0
  let envelopedCount = 0
  for (const transform of transforms) {
    if (transform.namespaceURI !== DSIG_NS || transform.localName !== 'Transform') fail('TRANSFORM_FORBIDDEN', `unexpected <${transform.tagName}> in Transforms`)
    const algorithm = transform.getAttribute('Algorithm') ?? ''
    if (algorithm === ENVELOPED_SIGNATURE) envelopedCount++
    else if (C14N_ALGORITHMS.has(algorithm)) c14nCount++
    else fail('TRANSFORM_FORBIDDEN', `transform ${algorithm || '(none)'} is not allowed (only enveloped-signature and one C14N)`)
    // Only exclusive C14N may carry a parameter (InclusiveNamespaces); anything else inside a
    // Transform (an XPath expression, a stylesheet) is refused.
    for (const child of elementChildren(transform)) {
      if (!(child.localName === 'InclusiveNamespaces' && algorithm.includes('xml-exc-c14n'))) {
        fail('TRANSFORM_FORBIDDEN', `transform ${algorithm} carries a <${child.tagName}> parameter`)
      }
    }
    algorithms.push(algorithm)
  }
  if (envelopedCount > 1 || c14nCount > 1) fail('TRANSFORM_FORBIDDEN', 'a transform is repeated')
  if (transforms.length > MAX_TRANSFORMS) fail('TRANSFORM_FORBIDDEN', `${transforms.length} transforms; at most ${MAX_TRANSFORMS} are accepted`)
  return algorithms
}

function keyInfoCertificates (signature: Element): string[] {
  const certificates: string[] = []
  for (const keyInfo of dsigChildren(signature, 'KeyInfo')) {
    for (const x509Data of dsigChildren(keyInfo, 'X509Data')) {
      for (const certificate of dsigChildren(x509Data, 'X509Certificate')) {
        const text = (certificate.textContent ?? '').replace(/\s+/g, '')
        if (text.length > MAX_CERTIFICATE_BASE64) fail('CERT_MALFORMED', 'an X509Certificate in KeyInfo is larger than 16 KB')
        if (text !== '') certificates.push(text)
      }
    }
  }
  if (certificates.length === 0) fail('CERT_MISSING', 'KeyInfo carries no X509Certificate (a bare KeyValue is never trusted)')
  if (certificates.length > MAX_KEYINFO_CERTIFICATES) fail('CERT_MALFORMED', `KeyInfo carries ${certificates.length} certificates; at most ${MAX_KEYINFO_CERTIFICATES} are read`)
  return certificates
}

function elementChildren (parent: Element): Element[] {
  const out: Element[] = []
  for (let n = parent.firstChild; n != null; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element)
  return out
}

function dsigChildren (parent: Element, localName: string): Element[] {
  return elementChildren(parent).filter((e) => e.namespaceURI === DSIG_NS && e.localName === localName)
}
