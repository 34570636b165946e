import { readPemBlocks } from '../../pki/pem.js'
import { EXC_C14N } from '../../xmldsig/c14n.js'
import { parseXml, XmlRefusal } from '../../xmldsig/parse.js'
import { DSIG_NS, RSA_SHA256, SHA256 } from '../../xmldsig/signature-profile.js'
import { signingText, signParsedXml } from '../../xmldsig/sign.js'
import type { XmlDocument } from '../../xmldsig/xml-tree.js'
import type { HubIdentity } from '../hub-identity.js'
import { buildReceipt } from './build.js'
import { ReceiptFormatError, type ReceiptFields } from './format.js'
import { readReceipt } from './read.js'

export { EXC_C14N }

/**
 * Signs an unsigned receipt with the hub's key: enveloped XML-DSig, the last child of <Receipt>,
 * RSA-SHA256, exclusive C14N, one Reference URI="" with enveloped-signature + exclusive C14N,
 * the hub certificate and its chain in KeyInfo/X509Data. The input must read as a receipt
 * (ReceiptFormatError otherwise): the hub's key signs receipts, never arbitrary XML handed to it.
 */
export function signReceipt (xml: string, hub: HubIdentity): string {
  // Parsed once: the tree checked here is the tree signed (signParsedXml). PIs are kept so that
  // they are refused as receipt content below, with the receipt's own error.
  const text = signingText(xml)
  let doc: XmlDocument
  try {
    doc = parseXml(text, { processingInstructions: 'keep' })
  } catch (err) {
    if (err instanceof XmlRefusal) throw new ReceiptFormatError(`the receipt is not well-formed XML: ${err.message}`)
    throw err
  }
  if (doc.elements.some((e) => e.uri === DSIG_NS)) throw new ReceiptFormatError('the receipt is already signed')
  // Nothing but the XML declaration and whitespace around <Receipt>: URI="" covers the whole
  // document, and a PI or comment there would only confuse readers.
  if (doc.children.length !== 1) throw new ReceiptFormatError('only the XML declaration may stand outside <Receipt>')
  readReceipt(doc.root)
  // readReceipt refuses PIs inside <Receipt> and the check above anything outside it: the tree
  // holds none, as signXml's own parse would require.
  return signParsedXml(text, doc, {
    privateKey: hub.privateKey,
    certificates: certificatesOf(hub),
    signatureMethod: RSA_SHA256,
    digestMethod: SHA256,
    canonicalization: EXC_C14N,
    referenceUri: '',
    place: (d) => ({ append: d.root })
  })
}

/** Per hub identity, made once: the base64 DER of the certificate and its chain for KeyInfo. */
const keyInfoCertificates = new WeakMap<HubIdentity, string[]>()

function certificatesOf (hub: HubIdentity): string[] {
  let certificates = keyInfoCertificates.get(hub)
  if (certificates == null) {
    certificates = readPemBlocks(hub.certificatePem).filter((b) => b.label === 'CERTIFICATE').map((b) => Buffer.from(b.der).toString('base64'))
    keyInfoCertificates.set(hub, certificates)
  }
  return certificates
}

/** buildReceipt() then signReceipt(): the signed receipt XML. */
export function issueReceipt (fields: ReceiptFields, hub: HubIdentity): string {
  return signReceipt(buildReceipt(fields), hub)
}
