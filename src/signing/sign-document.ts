import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { C14N_ALGORITHMS, RSA_SHA1, RSA_SHA256, RSA_SHA512, SHA1, SHA256, SHA512 } from '../verification/algorithms.js'
import { DSIG_NS, EDXML_NS } from '../edxml/namespaces.js'
import { readPemBlocks } from '../pki/pem.js'
import { parseXml, XmlRefusal } from '../xmldsig/parse.js'
import { signXml } from '../xmldsig/sign.js'
import { attributeValue, type XmlDocument, type XmlElement } from '../xmldsig/xml-tree.js'

export const SIGNATURE_ALGORITHMS = {
  'rsa-sha256': { signature: RSA_SHA256, digest: SHA256 },
  'rsa-sha512': { signature: RSA_SHA512, digest: SHA512 },
  // Only for producing test documents for agencies still on SHA-1; the hub refuses these unless
  // the agency's registry entry allows weak algorithms.
  'rsa-sha1': { signature: RSA_SHA1, digest: SHA1 }
} as const

export type SigningAlgorithm = keyof typeof SIGNATURE_ALGORITHMS

export const CANONICALIZATIONS = {
  exc: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
} as const

export type Canonicalization = keyof typeof CANONICALIZATIONS

export interface SignOptions {
  privateKeyPem: string
  /** Signer certificate first, then any chain certificates; all go into KeyInfo/X509Data. */
  certificatePem: string
  algorithm?: SigningAlgorithm
  canonicalization?: Canonicalization
  /** Reference the root element by its Id attribute (URI="#id") instead of URI="". */
  referenceById?: boolean
}

export class SigningError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SigningError'
  }
}

/**
 * Produces an enveloped XML-DSig signature where QCVN 102:2016 puts it: inside edXMLHeader,
 * right after TraceHeaderList (or after MessageHeader when there is no TraceHeaderList).
 * Reference URI="" (whole document) with enveloped-signature + one C14N transform.
 */
export function signEdxml (xml: string, options: SignOptions): string {
  let doc: XmlDocument
  try {
    doc = parseXml(xml)
  } catch (err) {
    if (err instanceof XmlRefusal) throw new SigningError(`the document is not acceptable XML: ${err.message}`)
    throw err
  }
  const root = doc.root
  if (root.uri !== EDXML_NS || root.local !== 'edXML') throw new SigningError('the root element is not edXML')
  if (doc.elements.some((e) => e.uri === DSIG_NS && e.local === 'Signature')) throw new SigningError('the document is already signed')
  const header = findChild(findChild(root, 'edXMLEnvelope'), 'edXMLHeader')
  if (header == null) throw new SigningError('the document has no edXMLEnvelope/edXMLHeader')
  const anchor = findChild(header, 'TraceHeaderList') ?? findChild(header, 'MessageHeader')
  if (anchor == null) throw new SigningError('edXMLHeader has neither TraceHeaderList nor MessageHeader')

  const privateKey = readKeyMatchingCertificate(options.privateKeyPem, options.certificatePem)
  const algorithm = SIGNATURE_ALGORITHMS[options.algorithm ?? 'rsa-sha256']
  const c14n = CANONICALIZATIONS[options.canonicalization ?? 'exc']
  if (!C14N_ALGORITHMS.has(c14n)) throw new SigningError(`unsupported canonicalization ${c14n}`)
  let uri = ''
  if (options.referenceById === true) {
    const id = attributeValue(root, 'Id') ?? ''
    if (id === '') throw new SigningError('referenceById needs an Id attribute on the root element')
    uri = `#${id}`
  }
  return signXml(xml, {
    privateKey,
    certificates: readPemBlocks(options.certificatePem).filter((b) => b.label === 'CERTIFICATE').map((b) => Buffer.from(b.der).toString('base64')),
    signatureMethod: algorithm.signature,
    digestMethod: algorithm.digest,
    canonicalization: c14n,
    referenceUri: uri,
    // As QCVN 102:2016 samples and xmlsec1 templates write it: <Signature xmlns="…xmldsig#">.
    prefix: '',
    // The same anchor, found again on the signer's own parse of the same text.
    place: (d) => ({ after: findChild(findChild(findChild(d.root, 'edXMLEnvelope'), 'edXMLHeader'), anchor.local) as XmlElement })
  })
}

function findChild (parent: XmlElement | undefined, localName: string): XmlElement | undefined {
  if (parent == null) return undefined
  for (const n of parent.children) {
    if (n.kind === 'element' && n.local === localName && n.uri === EDXML_NS) return n
  }
  return undefined
}

/**
 * The key, parsed once for both the check and the signature. A signature the recipient can never
 * verify is better refused here than discovered there.
 */
function readKeyMatchingCertificate (keyPem: string, certificatePem: string): KeyObject {
  let key: KeyObject
  let matches: boolean
  try {
    key = createPrivateKey(keyPem)
    matches = new X509Certificate(certificatePem).checkPrivateKey(key)
  } catch (err) {
    throw new SigningError(`cannot read the key or the certificate: ${(err as Error).message}`)
  }
  if (!matches) throw new SigningError('the private key does not belong to the (first) certificate')
  return key
}
