import t from 'tap'
import { readFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { join } from 'node:path'
import { DOMParser } from '@xmldom/xmldom'
import { SigningError, signEdxml, type SignOptions } from '../../src/signing/sign-document.js'
import { DSIG_NS, EDXML_NS } from '../../src/edxml/namespaces.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { FIXTURES, PKI, examplePolicy } from '../helpers/example-pki.js'

const template = (name: string): string => readFileSync(join(FIXTURES, 'templates', name), 'utf8')
const pem = (path: string): string => readFileSync(join(PKI, path), 'utf8')
const G22 = 'agencies/000.00.00.G22'
const KEY = pem(`${G22}/key.pem`)
const CERT = pem(`${G22}/cert.pem`)
const CHAIN = pem(`${G22}/chain.pem`)
const ONE_RECIPIENT = template('document-one-recipient.edxml')
const options: SignOptions = { privateKeyPem: KEY, certificatePem: CERT + CHAIN }

const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml')
const elementChildren = (parent: Element): Element[] => {
  const out: Element[] = []
  for (let n = parent.firstChild; n != null; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element)
  return out
}
/** The one ds:Signature of a signed document and its place among its parent's element children. */
function signatureOf (xml: string): { signature: Element, parent: Element, before: string | undefined, after: string | undefined } {
  const signatures = parse(xml).getElementsByTagNameNS(DSIG_NS, 'Signature')
  if (signatures.length !== 1) throw new Error(`${signatures.length} ds:Signature elements`)
  const signature = signatures.item(0) as Element
  const parent = signature.parentNode as Element
  const siblings = elementChildren(parent)
  const at = siblings.indexOf(signature)
  return { signature, parent, before: siblings[at - 1]?.localName, after: siblings[at + 1]?.localName }
}
const withoutTraceHeaderList = ONE_RECIPIENT.replace(/\s*<edXML:TraceHeaderList>[\s\S]*<\/edXML:TraceHeaderList>/, '')

t.test('signing errors: SigningError with a message saying why', async (t) => {
  const signedOnce = signEdxml(ONE_RECIPIENT, options)
  const cases: { name: string, xml: string, options?: Partial<SignOptions>, message: RegExp }[] = [
    { name: 'already signed', xml: signedOnce, message: /^the document is already signed$/ },
    { name: 'non-edXML root', xml: '<?xml version="1.0"?>\n<Document xmlns="urn:example"><edXMLEnvelope/></Document>', message: /^the root element is not edXML$/ },
    { name: 'edXML root in no namespace', xml: ONE_RECIPIENT.replace('<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">', '<edXML>'), message: /^the root element is not edXML$/ },
    {
      name: 'missing edXMLHeader',
      xml: ONE_RECIPIENT.replace(/<edXML:edXMLHeader>[\s\S]*<\/edXML:edXMLHeader>/, ''),
      message: /^the document has no edXMLEnvelope\/edXMLHeader$/
    },
    {
      name: 'edXMLHeader without MessageHeader or TraceHeaderList',
      xml: withoutTraceHeaderList.replace(/<edXML:MessageHeader>[\s\S]*<\/edXML:MessageHeader>/, ''),
      message: /^edXMLHeader has neither TraceHeaderList nor MessageHeader$/
    },
    { name: 'referenceById without Id on the root', xml: ONE_RECIPIENT, options: { referenceById: true }, message: /^referenceById needs an Id attribute on the root element$/ }
  ]
  for (const c of cases) {
    t.throws(() => signEdxml(c.xml, { ...options, ...c.options }), { name: 'SigningError', message: c.message }, c.name)
    try {
      signEdxml(c.xml, { ...options, ...c.options })
    } catch (err) {
      t.type(err, SigningError, `${c.name}: instanceof SigningError`)
    }
  }
  t.doesNotThrow(() => signEdxml(template('document-root-id.edxml'), { ...options, referenceById: true }), 'control: referenceById with an Id signs')
})

t.test('placement: inside edXMLHeader, right after TraceHeaderList (MessageHeader when there is none)', async (t) => {
  const table = [
    { name: 'document with TraceHeaderList', xml: ONE_RECIPIENT, before: 'TraceHeaderList', after: undefined, variant: false },
    { name: 'status message', xml: template('status-03.edxml'), before: 'TraceHeaderList', after: undefined, variant: false },
    { name: 'no TraceHeaderList', xml: withoutTraceHeaderList, before: 'MessageHeader', after: undefined, variant: true },
    // A header whose TraceHeaderList is not last: the signature still goes right after it.
    {
      name: 'TraceHeaderList before MessageHeader',
      xml: ONE_RECIPIENT.replace(/(\s*<edXML:MessageHeader>[\s\S]*<\/edXML:MessageHeader>)(\s*<edXML:TraceHeaderList>[\s\S]*<\/edXML:TraceHeaderList>)/, '$2$1'),
      before: 'TraceHeaderList',
      after: 'MessageHeader',
      variant: true
    }
  ]
  for (const c of table) {
    if (c.variant === true) t.not(c.xml, ONE_RECIPIENT, `${c.name}: the template variant was made`)
    const { signature, parent, before, after } = signatureOf(signEdxml(c.xml, options))
    t.equal(signature.namespaceURI, DSIG_NS, `${c.name}: XML-DSig namespace`)
    t.equal(parent.localName, 'edXMLHeader', `${c.name}: parent is edXMLHeader`)
    t.equal(parent.namespaceURI, EDXML_NS, `${c.name}: in the edXML namespace`)
    t.equal((parent.parentNode as Element).localName, 'edXMLEnvelope', `${c.name}: of the edXMLEnvelope`)
    t.equal(before, c.before, `${c.name}: right after ${c.before}`)
    t.equal(after, c.after, `${c.name}: followed by ${c.after ?? 'nothing'}`)
  }
})

t.test('KeyInfo: the leaf first, then the chain', async (t) => {
  const der = (p: string): string => new X509Certificate(p).raw.toString('base64')
  const keyInfoCerts = (xml: string): string[] => {
    const { signature } = signatureOf(xml)
    const keyInfo = signature.getElementsByTagNameNS(DSIG_NS, 'KeyInfo')
    t.equal(keyInfo.length, 1, 'one KeyInfo')
    const data = (keyInfo.item(0) as Element).getElementsByTagNameNS(DSIG_NS, 'X509Data')
    t.equal(data.length, 1, 'one X509Data')
    return Array.from((data.item(0) as Element).getElementsByTagNameNS(DSIG_NS, 'X509Certificate'), (e) => (e.textContent ?? '').replace(/\s+/g, ''))
  }
  t.same(keyInfoCerts(signEdxml(ONE_RECIPIENT, { privateKeyPem: KEY, certificatePem: CERT + CHAIN })), [der(CERT), der(CHAIN)], 'with --chain: leaf, issuing CA')
  t.same(keyInfoCerts(signEdxml(ONE_RECIPIENT, { privateKeyPem: KEY, certificatePem: CERT })), [der(CERT)], 'without: the leaf alone')
})

t.test('what the signer produces verifies (sanity; the corpus test covers the matrix)', async (t) => {
  const policy = await examplePolicy()
  const table = [
    { name: 'defaults', xml: ONE_RECIPIENT, opts: options, signature: 'rsa-sha256', canonicalization: 'exc-c14n' },
    { name: 'rsa-sha512 c14n by Id', xml: template('document-root-id.edxml'), opts: { ...options, algorithm: 'rsa-sha512', canonicalization: 'c14n', referenceById: true } satisfies SignOptions, signature: 'rsa-sha512', canonicalization: 'c14n' }
  ]
  for (const c of table) {
    const verdict = await verifyDocument(Buffer.from(signEdxml(c.xml, c.opts)), policy)
    t.equal(verdict.verdict, 'accepted', `${c.name}: ${verdict.verdict === 'rejected' ? `${verdict.code} ${verdict.detail}` : 'accepted'}`)
    t.equal(verdict.algorithms?.signature, c.signature, `${c.name}: signature algorithm`)
    t.equal(verdict.algorithms?.canonicalization, c.canonicalization, `${c.name}: canonicalization`)
  }
})

t.test('a key that does not belong to the certificate is refused at signing time', async (t) => {
  t.throws(() => signEdxml(ONE_RECIPIENT, { privateKeyPem: pem('agencies/000.00.00.G12/key.pem'), certificatePem: CERT + CHAIN }), SigningError)
})
