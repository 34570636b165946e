import { createPrivateKey, type KeyObject } from 'node:crypto'
import { SignedXml } from 'xml-crypto'
import { DSIG_NS } from '../../edxml/namespaces.js'
import { ENVELOPED_SIGNATURE, RSA_SHA256, SHA256 } from '../../verification/algorithms.js'
import { parseXmlStrict, XmlRefusal } from '../../verification/parse-xml.js'
import type { HubIdentity } from '../hub-identity.js'
import { buildReceipt } from './build.js'
import { ReceiptFormatError, type ReceiptFields } from './format.js'
import { readReceipt } from './read.js'

export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'

/**
 * Signs an unsigned receipt with the hub's key: enveloped XML-DSig, the last child of <Receipt>,
 * RSA-SHA256, exclusive C14N, one Reference URI="" with enveloped-signature + exclusive C14N,
 * the hub certificate and its chain in KeyInfo/X509Data. The input must read as a receipt
 * (ReceiptFormatError otherwise): the hub's key signs receipts, never arbitrary XML handed to it.
 */
export function signReceipt (xml: string, hub: HubIdentity): string {
  let doc: Document
  try {
    doc = parseXmlStrict(xml)
  } catch (err) {
    if (err instanceof XmlRefusal) throw new ReceiptFormatError(`the receipt is not well-formed XML: ${err.message}`)
    throw err
  }
  if (doc.getElementsByTagNameNS(DSIG_NS, 'Signature').length > 0) throw new ReceiptFormatError('the receipt is already signed')
  checkProlog(doc)
  readReceipt(doc.documentElement)

  const prepared = preparedSigner(hub)
  const sig = new SignedXml({
    privateKey: prepared.key,
    publicCert: hub.certificatePem,
    getKeyInfoContent: () => prepared.keyInfo,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N
  })
  sig.addReference({ xpath: '/*', transforms: [ENVELOPED_SIGNATURE, EXC_C14N], digestAlgorithm: SHA256, isEmptyUri: true })
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: '/*', action: 'append' } })
  return sig.getSignedXml()
}

/**
 * Nothing but the XML declaration and whitespace around <Receipt>. xml-crypto digests the root
 * element while xmlsec1 digests the document (URI=""), which includes processing instructions
 * outside the root: one there would make a receipt that xmlsec1 refuses.
 */
function checkProlog (doc: Document): void {
  for (let n = doc.firstChild; n != null; n = n.nextSibling) {
    if (n === doc.documentElement || n.nodeType === 3) continue
    if (n.nodeType === 7 && n.nodeName === 'xml' && n === doc.firstChild) continue
    throw new ReceiptFormatError('only the XML declaration may stand outside <Receipt>')
  }
}

/**
 * Per hub identity, made once: the parsed private key (xml-crypto would re-parse the PEM for every
 * signature) and the KeyInfo content (it would re-read every certificate). bench/accept measured
 * receipt signing as most of the gateway's own CPU per document.
 */
const prepared = new WeakMap<HubIdentity, { key: KeyObject, keyInfo: string }>()

function preparedSigner (hub: HubIdentity): { key: KeyObject, keyInfo: string } {
  let entry = prepared.get(hub)
  if (entry == null) {
    const keyInfo = SignedXml.getKeyInfoContent({ publicCert: hub.certificatePem, prefix: 'ds' })
    if (keyInfo == null) throw new ReceiptFormatError('the hub certificate yields no KeyInfo')
    entry = { key: createPrivateKey(hub.privateKeyPem), keyInfo }
    prepared.set(hub, entry)
  }
  return entry
}

/** buildReceipt() then signReceipt(): the signed receipt XML. */
export function issueReceipt (fields: ReceiptFields, hub: HubIdentity): string {
  return signReceipt(buildReceipt(fields), hub)
}
