import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadHubIdentity, type HubIdentity } from '../../src/evidence/hub-identity.js'
import { hubPinOf, issueReceipt, verifyReceipt, type ReceiptFields } from '../../src/evidence/receipts.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { FIXTURES, PKI, examplePolicy } from '../helpers/example-pki.js'

// Regressions for what the outsider review of the new verifier found (issue 9 note): each row is
// a genuine signed document changed after signing the way the attacker did.
const valid = (name: string): string => readFileSync(join(FIXTURES, 'signatures', 'valid', name), 'utf8')
const good = valid('own-exc-rsa-sha256-one-recipient.edxml')
const byId = valid('own-uri-root-id.edxml')

function changed (xml: string, from: string | RegExp, to: string): string {
  const out = xml.replace(from, to)
  if (out === xml) throw new Error(`mutation had no effect: ${String(from)}`)
  return out
}

const prefixList = (n: number): string => Array.from({ length: n }, (_, i) => `p${i}`).join(' ')
const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#'

const cases: { name: string, xml: string, code: string }[] = [
  {
    // the PrefixList was only bounded by the attribute length, and C14N looked at every entry
    // for every element: 12,000 elements x 6,000 prefixes took seconds (quadratic).
    name: 'InclusiveNamespaces with 6,000 prefixes (quadratic C14N)',
    xml: changed(good, `<Transform Algorithm="${EXC}"/>`, `<Transform Algorithm="${EXC}"><ec:InclusiveNamespaces xmlns:ec="${EXC}" PrefixList="${prefixList(6000)}"/></Transform>`),
    code: 'TRANSFORM_FORBIDDEN'
  },
  {
    name: 'InclusiveNamespaces naming something that is not a prefix',
    xml: changed(good, `<Transform Algorithm="${EXC}"/>`, `<Transform Algorithm="${EXC}"><ec:InclusiveNamespaces xmlns:ec="${EXC}" PrefixList="a:b"/></Transform>`),
    code: 'TRANSFORM_FORBIDDEN'
  },
  {
    // X509IssuerSerial / X509SubjectName were skipped unread: anything could ride there.
    name: 'an edXML To inside X509IssuerSerial',
    xml: changed(good, '<X509Data>', '<X509Data><X509IssuerSerial><To xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><OrganId>000.00.00.H41</OrganId></To></X509IssuerSerial>'),
    code: 'SIGNATURE_FOREIGN_CONTENT'
  },
  {
    name: 'an element inside X509SubjectName',
    xml: changed(good, '<X509Data>', '<X509Data><X509SubjectName>CN=x<Object>unsigned</Object></X509SubjectName>'),
    code: 'SIGNATURE_FOREIGN_CONTENT'
  },
  {
    name: 'a long text in X509SubjectName',
    xml: changed(good, '<X509Data>', `<X509Data><X509SubjectName>${'A'.repeat(5000)}</X509SubjectName>`),
    code: 'SIGNATURE_FOREIGN_CONTENT'
  },
  {
    name: 'a serial number that is not a number',
    xml: changed(good, '<X509Data>', '<X509Data><X509IssuerSerial><X509IssuerName>CN=x</X509IssuerName><X509SerialNumber>chuyển tiền</X509SerialNumber></X509IssuerSerial>'),
    code: 'SIGNATURE_FOREIGN_CONTENT'
  },
  {
    name: 'a data-carrying attribute on KeyInfo',
    xml: changed(good, '<KeyInfo>', '<KeyInfo note="chuyển tiền ngay">'),
    code: 'SIGNATURE_FOREIGN_CONTENT'
  },
  {
    // "#xpointer(/)" is the whole document WITH comments for a conforming verifier.
    name: 'URI="#xpointer(/)" with a root Id of that value',
    xml: changed(changed(byId, 'Id="edxml-1236"', 'Id="xpointer(/)"'), 'URI="#edxml-1236"', 'URI="#xpointer(/)"'),
    code: 'REFERENCE_NOT_DOCUMENT'
  },
  {
    // xmlsec1 resolves "#x" only through the registered Id attribute.
    name: 'URI="#…" naming the root through ID instead of Id',
    xml: changed(byId, 'Id="edxml-1236"', 'ID="edxml-1236"'),
    code: 'REFERENCE_NOT_DOCUMENT'
  },
  {
    name: 'an xml:id elsewhere repeating the referenced Id',
    xml: changed(byId, '<edXML:SteeringType>', '<edXML:X xml:id="edxml-1236"/><edXML:SteeringType>'),
    code: 'REFERENCE_NOT_DOCUMENT'
  }
]

t.test('outsider review: each attack is refused with its code', async (t) => {
  const policy = await examplePolicy()
  for (const c of cases) {
    const verdict = await verifyDocument(Buffer.from(c.xml), policy)
    t.match(verdict, { verdict: 'rejected', code: c.code }, c.name)
  }
  t.equal((await verifyDocument(Buffer.from(byId), policy)).verdict, 'accepted', 'control: the Id-referenced original is accepted')
})

t.test('outsider review: a second Sender injected into a hub receipt\'s KeyInfo is refused', async (t) => {
  const trust = join(PKI, 'trust')
  const hub: HubIdentity = await loadHubIdentity({ keyFile: join(PKI, 'hub', 'signing-key.pem'), certFile: join(PKI, 'hub', 'signing-cert.pem'), chainFile: join(trust, 'issuing-ca.pem') })
  const trustStore = await TrustStore.load(trust)
  const fields: ReceiptFields = {
    kind: 'acceptance',
    hubDocumentId: '0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a',
    digestSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    sender: '000.00.00.G22',
    recipients: ['000.00.00.G12'],
    signatureLogEntry: '1'
  } as ReceiptFields
  const signed = issueReceipt(fields, hub)
  t.match(await verifyReceipt(signed, trustStore, { hub: hubPinOf(hub.certificate) }), { ok: true }, 'control: the receipt verifies')
  const injected = changed(signed, '<ds:X509Data>', '<ds:X509Data><ds:X509IssuerSerial><Sender xmlns="urn:lienthong:receipt:1">000.00.00.H41</Sender></ds:X509IssuerSerial>')
  t.match(await verifyReceipt(injected, trustStore, { hub: hubPinOf(hub.certificate) }), { ok: false, code: 'SIGNATURE_FOREIGN_CONTENT' })
  const subjectName = changed(signed, '<ds:X509Data>', '<ds:X509Data><ds:X509SubjectName>CN=hub</ds:X509SubjectName>')
  t.match(await verifyReceipt(subjectName, trustStore, { hub: hubPinOf(hub.certificate) }), { ok: false, code: 'SIGNATURE_FOREIGN_CONTENT' }, 'receipts carry certificates only')
})
