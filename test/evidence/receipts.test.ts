import t from 'tap'
import { spawnSync } from 'node:child_process'
import { verify } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { SignedXml } from 'xml-crypto'
import { receiptCommand } from '../../src/cli/receipt-command.js'
import { HubIdentityError, loadHubIdentity, type HubIdentity } from '../../src/evidence/hub-identity.js'
import {
  type AcceptanceFields, buildReceipt, hubPinOf, issueReceipt, ReceiptFormatError, signReceipt, verifyReceipt, type Receipt, type ReceiptFields
} from '../../src/evidence/receipts.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { PKI } from '../helpers/example-pki.js'
import { C14N_10, canonicalize, EXC_C14N, EXC_C14N_COMMENTS } from '../../src/xmldsig/c14n.js'
import { parseXml } from '../../src/xmldsig/parse.js'
import { exclusiveSignedInfo, signXml } from '../../src/xmldsig/sign.js'
import { DSIG_NS, RSA_SHA256, SHA256 } from '../../src/xmldsig/signature-profile.js'
import type { XmlDocument, XmlElement } from '../../src/xmldsig/xml-tree.js'

const TRUST = join(PKI, 'trust')
const HUB = { keyFile: join(PKI, 'hub', 'signing-key.pem'), certFile: join(PKI, 'hub', 'signing-cert.pem'), chainFile: join(TRUST, 'issuing-ca.pem') }
const G22 = join(PKI, 'agencies', '000.00.00.G22')
const DIGEST = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const OTHER_DIGEST = '0000000000000000000000000000000000000000000000000000000000000000'

/** One receipt of each kind, written in their read-back form so that they are also the expected fields. */
const CASES: Receipt[] = [
  {
    kind: 'acceptance',
    receiptId: '6f1c2a9e-3b7d-4c5e-8f90-1a2b3c4d5e6f',
    issuedAt: '2026-11-25T21:03:04.005Z',
    hubDocumentId: '0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a',
    edxmlDocumentId: 'Số 125/QĐ-UBND <khẩn> & "mật"',
    digestSha256: DIGEST,
    sender: '000.00.00.G22',
    recipients: ['000.00.00.G12', '000.00.00.H41', '000.00.00.H29'],
    signatureLogEntry: '4711'
  },
  {
    kind: 'delivery',
    receiptId: '7a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d',
    issuedAt: '2026-11-25T21:05:00.000Z',
    hubDocumentId: '0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a',
    deliveryId: '1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6',
    digestSha256: DIGEST,
    sender: '000.00.00.G22',
    recipient: '000.00.00.G12',
    method: 'pull'
  },
  {
    kind: 'failure',
    receiptId: '8b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e',
    issuedAt: '2026-11-26T09:00:00.000Z',
    hubDocumentId: '0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a',
    edxmlDocumentId: '125/QĐ-UBND',
    digestSha256: DIGEST,
    sender: '000.00.00.G22',
    recipient: '000.00.00.H29',
    reason: 'Máy chủ Ủy ban nhân dân thành phố Hồ Chí Minh trả lời HTTP 503 <Service Unavailable> & "hết hạn" sau 12 lần thử\r\nlần cuối: ]]>'
  },
  {
    kind: 'rejection',
    receiptId: '9c4d5e6f-7a8b-4c3d-8e4f-5a6b7c8d9e0f',
    issuedAt: '2026-11-25T22:00:00.000Z',
    edxmlDocumentId: '<script>alert("x")</script>',
    digestSha256: DIGEST,
    claimedSender: 'Văn phòng Chính phủ & <không rõ>',
    code: 'SENDER_MISMATCH',
    detail: 'chứng thư của C=VN, O=Bộ Tài chính không được đăng ký cho cơ quan 000.00.00.G22\t"trích dẫn" \'đơn\'',
    signatureLogEntry: '4712'
  }
]

let hub: HubIdentity
let trustStore: TrustStore
let dir: string

t.before(async () => {
  hub = await loadHubIdentity(HUB)
  trustStore = await TrustStore.load(TRUST)
  dir = t.testdir()
})

function xmlsec1 (file: string, ...keyArgs: string[]): { status: number | null, output: string } {
  const args = keyArgs.length > 0 ? keyArgs : ['--enabled-key-data', 'x509', '--trusted-pem', join(TRUST, 'root-ca.pem'), '--untrusted-pem', join(TRUST, 'issuing-ca.pem')]
  const run = spawnSync('xmlsec1', ['--verify', ...args, file], { encoding: 'utf8' })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

/** xmlsec1 pinned to the hub's key alone: KeyInfo is ignored (only KeyName lookups are enabled). */
function xmlsec1PinnedToHub (file: string): { status: number | null, output: string } {
  return xmlsec1(file, '--pubkey-cert-pem', HUB.certFile, '--enabled-key-data', 'key-name')
}

function save (name: string, xml: string): string {
  const file = join(dir, name)
  writeFileSync(file, xml)
  return file
}

t.test('each kind: built, signed, verified by xmlsec1 and verifyReceipt with the exact fields back', async (t) => {
  for (const fields of CASES) {
    const unsigned = buildReceipt(fields)
    t.equal(buildReceipt(fields), unsigned, `${fields.kind}: building is deterministic`)
    t.match(unsigned, `<Receipt xmlns="urn:lienthong:receipt:1" kind="${fields.kind}" version="1">`)
    const signed = signReceipt(unsigned, hub)
    t.equal(issueReceipt(fields, hub), signed, `${fields.kind}: issueReceipt = buildReceipt + signReceipt, deterministic (RSA PKCS#1 v1.5)`)
    const file = save(`${fields.kind}.xml`, signed)

    const chain = xmlsec1(file)
    t.equal(chain.status, 0, `${fields.kind}: xmlsec1 verifies with the trust anchors (${chain.output.trim()})`)
    t.equal(xmlsec1PinnedToHub(file).status, 0, `${fields.kind}: xmlsec1 verifies with the hub key alone`)

    const result = await verifyReceipt(signed, trustStore, { hub: hubPinOf(hub.certificate) })
    if (!result.ok) {
      t.fail(`${fields.kind}: ${result.code}: ${result.detail}`)
      continue
    }
    t.strictSame(result.fields, fields, `${fields.kind}: the exact fields back`)
    t.equal(result.signer.fingerprintSha256, hub.fingerprintSha256, `${fields.kind}: signer is the hub`)
    t.strictSame(await verifyReceipt(readFileSync(file), trustStore, { hub: { subjectUid: '000.00.00.HUB' } }), result, `${fields.kind}: bytes and a UID pin give the same`)
  }
})

t.test('a tampered digest fails xmlsec1 and verifyReceipt (DIGEST_MISMATCH)', async (t) => {
  for (const fields of CASES) {
    const signed = issueReceipt(fields, hub)
    const tampered = signed.replace(`<DigestSha256>${DIGEST}</DigestSha256>`, `<DigestSha256>${OTHER_DIGEST}</DigestSha256>`)
    t.not(tampered, signed, `${fields.kind}: the digest was changed`)
    const file = save(`${fields.kind}.tampered.xml`, tampered)
    t.not(xmlsec1(file).status, 0, `${fields.kind}: xmlsec1 refuses`)
    t.not(xmlsec1PinnedToHub(file).status, 0, `${fields.kind}: pinned xmlsec1 refuses`)
    const result = await verifyReceipt(tampered, trustStore, { hub: hubPinOf(hub.certificate) })
    t.match(result, { ok: false, code: 'DIGEST_MISMATCH' }, `${fields.kind}: verifyReceipt refuses`)
  }
})

t.test('a receipt signed by an agency key is refused: not the hub', async (t) => {
  const agency = await loadHubIdentity({ keyFile: join(G22, 'key.pem'), certFile: join(G22, 'cert.pem'), chainFile: join(G22, 'chain.pem') })
  const forged = issueReceipt(CASES[0] as ReceiptFields, agency)
  const file = save('forged-by-g22.xml', forged)
  // The certificate is trusted, so a bare chain check passes: that is why the signer is pinned.
  t.equal(xmlsec1(file).status, 0, 'xmlsec1 with trust anchors only: a trusted signature')
  t.not(xmlsec1PinnedToHub(file).status, 0, 'xmlsec1 pinned to the hub key refuses')
  for (const pin of [hubPinOf(hub.certificate), { subjectUid: '000.00.00.HUB' }, { fingerprintsSha256: [hub.fingerprintSha256], subjectUid: '000.00.00.HUB' }]) {
    const result = await verifyReceipt(forged, trustStore, { hub: pin })
    t.match(result, { ok: false, code: 'SIGNER_NOT_HUB' }, `refused with pin ${JSON.stringify(pin)}`)
  }
  await t.rejects(verifyReceipt(forged, trustStore, { hub: {} }), /needs the hub pin/, 'an empty pin is a configuration error')
})

t.test('verifyReceipt refuses what the document verifier refuses, with the same codes', async (t) => {
  const signed = issueReceipt(CASES[0] as ReceiptFields, hub)
  const unsigned = buildReceipt(CASES[0] as ReceiptFields)
  const signatureValue = /<ds:SignatureValue>([^<]+)</.exec(signed)?.[1] as string
  const cases: [string, string | Buffer, string][] = [
    ['unsigned receipt', unsigned, 'SIGNATURE_MISSING'],
    ['DOCTYPE', signed.replace('<Receipt ', '<!DOCTYPE r [<!ENTITY x "y">]><Receipt '), 'XML_DTD_FORBIDDEN'],
    ['not UTF-8', Buffer.concat([Buffer.from(signed), Buffer.from([0xff])]), 'XML_MALFORMED'],
    ['truncated', signed.slice(0, -20), 'XML_MALFORMED'],
    ['another root element', signed.replaceAll('Receipt', 'Quittung'), 'RECEIPT_INVALID'],
    ['an element added after signing', signed.replace('<ds:Signature', '<Note>added</Note><ds:Signature'), 'DIGEST_MISMATCH'],
    ['a recipient removed', signed.replace('<Recipient>000.00.00.H29</Recipient>', ''), 'DIGEST_MISMATCH'],
    ['signature value altered', signed.replace(signatureValue, signatureValue.slice(0, 10) + (signatureValue[10] === 'A' ? 'B' : 'A') + signatureValue.slice(11)), 'SIGNATURE_INVALID'],
    ['two signatures', signed.replace(/(<ds:Signature[\s\S]*<\/ds:Signature>)/, '$1$1'), 'SIGNATURE_AMBIGUOUS'],
    ['signature moved into a field', signed.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '').replace(/<Recipients>/, `<Recipients>${/<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)?.[0] ?? ''}`), 'SIGNATURE_LOCATION'],
    ['KeyInfo without certificate', signed.replace(/<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, ''), 'CERT_MISSING'],
    ['over the size cap', signed.replace('</Receipt>', `${' '.repeat(1024 * 1024)}</Receipt>`), 'PAYLOAD_TOO_LARGE']
  ]
  for (const [what, input, code] of cases) {
    const result = await verifyReceipt(input, trustStore, { hub: hubPinOf(hub.certificate) })
    t.match(result, { ok: false, code }, `${what}: ${result.ok ? 'accepted' : result.detail}`)
  }
  const expired = await verifyReceipt(signed, trustStore, { hub: hubPinOf(hub.certificate), now: new Date('2032-01-01T00:00:00Z'), requireRevocation: false })
  t.match(expired, { ok: false, code: 'CERT_EXPIRED' }, 'verified after the hub certificate expired')
  const otherTrust = join(dir, 'other-trust')
  mkdirSync(otherTrust)
  writeFileSync(join(otherTrust, 'root.pem'), readFileSync(join(PKI, 'special', 'untrusted', 'root-ca.pem')))
  const elsewhere = await verifyReceipt(signed, await TrustStore.load(otherTrust), { hub: hubPinOf(hub.certificate), requireRevocation: false })
  t.match(elsewhere, { ok: false, code: 'CERT_UNTRUSTED' }, 'a trust store that does not hold the hub\'s root')
})

t.test('only the signed bytes are read: a comment injected into a field changes nothing', async (t) => {
  const signed = issueReceipt(CASES[0] as ReceiptFields, hub)
  const injected = signed.replace('<Sender>000.00.00.G22</Sender>', '<Sender>000.00.00.G<!-- 99 -->22</Sender>')
  t.not(injected, signed)
  const result = await verifyReceipt(injected, trustStore, { hub: hubPinOf(hub.certificate) })
  t.match(result, { ok: true, fields: { sender: '000.00.00.G22' } })
})

t.test('the receipt shape is fixed: other transforms, C14N or references are refused even when signed by the hub', async (t) => {
  const unsigned = buildReceipt(CASES[1] as ReceiptFields)
  const sign = (xml: string, options: { c14n?: string, transforms?: string[], signedBy?: HubIdentity }): string => {
    const c14n = options.c14n ?? 'http://www.w3.org/2001/10/xml-exc-c14n#'
    const sig = new SignedXml({ privateKey: (options.signedBy ?? hub).privateKeyPem, publicCert: (options.signedBy ?? hub).certificatePem, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: c14n })
    sig.addReference({ xpath: '/*', transforms: options.transforms ?? ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', c14n], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256', isEmptyUri: true })
    sig.computeSignature(xml, { prefix: 'ds', location: { reference: '/*', action: 'append' } })
    return sig.getSignedXml()
  }
  const inclusive = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
  const cases: [string, string, string][] = [
    ['inclusive C14N transform', sign(unsigned, { c14n: inclusive }), 'TRANSFORM_FORBIDDEN'],
    ['inclusive C14N of SignedInfo', sign(unsigned, { c14n: inclusive, transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'] }), 'ALGORITHM_FORBIDDEN'],
    ['exclusive C14N transform only', sign(unsigned, { transforms: ['http://www.w3.org/2001/10/xml-exc-c14n#'] }), 'TRANSFORM_FORBIDDEN'],
    ['hub-signed XML that is not a receipt', sign(unsigned.replace('<Method>pull</Method>', '<Method>carrier pigeon</Method>'), {}), 'RECEIPT_INVALID'],
    ['hub-signed receipt of version 2', sign(unsigned.replace('version="1"', 'version="2"'), {}), 'RECEIPT_INVALID'],
    ['hub-signed receipt with an unknown element', sign(unsigned.replace('</Receipt>', '<Extra/></Receipt>'), {}), 'RECEIPT_INVALID']
  ]
  for (const [what, xml, code] of cases) {
    const result = await verifyReceipt(xml, trustStore, { hub: hubPinOf(hub.certificate) })
    t.match(result, { ok: false, code }, `${what}: ${result.ok ? 'accepted' : result.detail}`)
  }
  t.match(await verifyReceipt(sign(unsigned, {}), trustStore, { hub: hubPinOf(hub.certificate) }), { ok: true }, 'the control case signed the same way is accepted')
})

t.test('buildReceipt: defaults, normalisation and refusals', async (t) => {
  const now = Date.now()
  const built = buildReceipt({ kind: 'delivery', hubDocumentId: '0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a', digestSha256: DIGEST, sender: '000.00.00.G22', recipient: '000.00.00.G12', method: 'push' })
  const issuedAt = /<IssuedAt>([^<]+)</.exec(built)?.[1] as string
  t.ok(Math.abs(Date.parse(issuedAt) - now) < 60_000, 'issuedAt defaults to now')
  t.match(built, /<ReceiptId>[0-9a-f-]{36}<\/ReceiptId>/, 'receiptId defaults to a UUID')
  t.notMatch(built, /DeliveryId|EdxmlDocumentId/, 'optional fields left out are absent')

  const xml = issueReceipt({ ...(CASES[0] as ReceiptFields), issuedAt: new Date('2026-11-25T23:00:00+07:00'), signatureLogEntry: 4711 } as ReceiptFields, hub)
  const result = await verifyReceipt(xml, trustStore, { hub: hubPinOf(hub.certificate) })
  t.match(result, { ok: true, fields: { issuedAt: '2026-11-25T16:00:00.000Z', signatureLogEntry: '4711' } }, 'a Date and a numeric log id read back as text')
  t.match(buildReceipt({ ...(CASES[3] as ReceiptFields), issuedAt: '2026-11-25T23:00:00+07:00' }), '<IssuedAt>2026-11-25T16:00:00.000Z</IssuedAt>', 'times are written in UTC')

  const base = CASES[0] as AcceptanceFields
  const refusals: [string, ReceiptFields, RegExp][] = [
    ['digest', { ...base, digestSha256: DIGEST.toUpperCase() }, /<DigestSha256> must be 64 lower-case hex digits/],
    ['uuid', { ...base, hubDocumentId: 'not-a-uuid' }, /<HubDocumentId> must be a lower-case UUID/],
    ['recipient code', { ...base, recipients: ['000.00.00.G12', 'G 22'] } as ReceiptFields, /<Recipient> must be an agency code/],
    ['control character', { ...base, edxmlDocumentId: 'a\u0001b' }, /character XML cannot carry/],
    ['lone surrogate', { ...base, edxmlDocumentId: 'a\ud800b' }, /character XML cannot carry/],
    ['time without zone', { ...base, issuedAt: '2026-11-25T21:00:00' }, /<IssuedAt> must be a Date or an RFC 3339 time/],
    ['invalid date', { ...base, issuedAt: new Date(Number.NaN) }, /<IssuedAt> is not a valid time/],
    ['field of another kind', { ...base, method: 'push' } as unknown as ReceiptFields, /an acceptance receipt has no field method/],
    ['missing field', { ...base, sender: undefined } as unknown as ReceiptFields, /needs sender \(<Sender>\)/],
    ['unknown kind', { ...base, kind: 'receipt' } as unknown as ReceiptFields, /unknown receipt kind/],
    ['negative log id', { ...base, signatureLogEntry: -1 }, /non-negative integer/]
  ]
  for (const [what, fields, message] of refusals) t.throws(() => buildReceipt(fields), { name: 'ReceiptFormatError', message }, what)
})

t.test('signReceipt signs receipts only', async (t) => {
  t.throws(() => signReceipt('<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>', hub), ReceiptFormatError, 'any other XML')
  t.throws(() => signReceipt(issueReceipt(CASES[1] as ReceiptFields, hub), hub), /already signed/, 'a signed receipt')
  t.throws(() => signReceipt('<Receipt', hub), /not well-formed/, 'broken XML')
  const unsigned = buildReceipt(CASES[1] as ReceiptFields)
  t.throws(() => signReceipt(unsigned.replace('<Receipt ', '<?xml-stylesheet href="x.xsl"?><Receipt '), hub), /only the XML declaration/, 'a processing instruction outside the root')
  t.throws(() => signReceipt(unsigned.replace('<Method>', '<Method><!-- c -->'), hub), /<Method> holds a comment/, 'a comment inside a field')
  t.throws(() => signReceipt(unsigned.replace('<Method>', '<Method note="x">'), hub), /unexpected attribute note/, 'an attribute on a field')
  t.type(signReceipt(unsigned.replace('<?xml version="1.0" encoding="UTF-8"?>\n', ''), hub), 'string', 'the declaration is optional')
})

t.test('signReceipt parses once and signs the tree it checked: the same bytes signXml gives from the text', async (t) => {
  // RSA PKCS#1 v1.5 is deterministic, so the one-parse path must reproduce signXml byte for byte
  // (non-ASCII and escaped field values move the byte offsets the signature is inserted at).
  const spec = { privateKey: hub.privateKey, certificates: hub.certificatePem.split('-----END CERTIFICATE-----').filter((b) => b.includes('BEGIN')).map((b) => b.replace(/-----BEGIN CERTIFICATE-----|\s/g, '')), signatureMethod: RSA_SHA256, digestMethod: SHA256, canonicalization: EXC_C14N, referenceUri: '', place: (d: XmlDocument) => ({ append: d.root }) }
  for (const c of CASES) {
    const unsigned = buildReceipt(c as ReceiptFields)
    t.equal(signReceipt(unsigned, hub), signXml(unsigned, spec), `${c.kind}: same signed receipt`)
    t.equal(signReceipt(`\ufeff${unsigned}`, hub), signXml(unsigned, spec), `${c.kind}: a byte order mark is dropped, as signXml drops it`)
  }
  const unsigned = buildReceipt(CASES[1] as ReceiptFields)
  t.throws(() => signReceipt(unsigned.replace('<Method>', '<Method><?pi x?>'), hub), ReceiptFormatError, 'a processing instruction inside <Receipt> is refused, never signed')
})

t.test('signXml canonicalises its own SignedInfo without parsing it back only where that gives the same bytes', async (t) => {
  const unsigned = '<?xml version="1.0" encoding="UTF-8"?>\n<r:Doc xmlns:r="urn:x" xmlns="urn:default" xml:lang="vi" Id="d1"><r:a>1</r:a></r:Doc>\n'
  const cases: Array<{ name: string, canonicalization: string, prefix?: string, referenceUri: string, fast: boolean }> = [
    { name: 'receipts: exclusive C14N, ds prefix, URI=""', canonicalization: EXC_C14N, referenceUri: '', fast: true },
    { name: 'default namespace prefix', canonicalization: EXC_C14N, prefix: '', referenceUri: '', fast: true },
    { name: 'other prefix, #Id reference', canonicalization: EXC_C14N, prefix: 'sig', referenceUri: '#d1', fast: true },
    { name: 'inclusive C14N takes the context in: parsed', canonicalization: C14N_10, referenceUri: '', fast: false },
    { name: 'exclusive with comments: parsed', canonicalization: EXC_C14N_COMMENTS, referenceUri: '', fast: false }
  ]
  for (const c of cases) {
    const spec = { privateKey: hub.privateKey, certificates: [], signatureMethod: RSA_SHA256, digestMethod: SHA256, canonicalization: c.canonicalization, referenceUri: c.referenceUri, ...(c.prefix != null ? { prefix: c.prefix } : {}), place: (d: XmlDocument) => ({ append: d.root }) }
    const signed = signXml(unsigned, spec)
    const doc = parseXml(signed)
    const info = doc.elements.find((e) => e.uri === DSIG_NS && e.local === 'SignedInfo') as XmlElement
    const digest = /DigestValue>([^<]+)</.exec(signed)?.[1] ?? ''
    const fast = exclusiveSignedInfo(spec, digest)
    if (c.fast) t.equal(fast, canonicalize(doc, { method: c.canonicalization, apex: info }), `${c.name}: built = parsed and canonicalised`)
    else t.equal(fast, undefined, `${c.name}`)
    const value = /SignatureValue>([^<]+)</.exec(signed)?.[1] ?? ''
    t.ok(verify('sha256', Buffer.from(canonicalize(doc, { method: c.canonicalization, apex: info }), 'utf8'), hub.certificate.publicKey, Buffer.from(value, 'base64')), `${c.name}: SignatureValue signs the canonical SignedInfo`)
  }
})

t.test('loadHubIdentity', async (t) => {
  t.equal(hub.fingerprintSha256, hub.certificate.fingerprint256.replaceAll(':', '').toLowerCase(), 'fingerprint of the leaf, lower-case hex')
  t.equal(hub.notAfter.toISOString(), new Date(hub.certificate.validTo).toISOString())
  t.match(hub.certificate.subject, /UID=000\.00\.00\.HUB/)
  t.equal(hub.certificatePem.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf and chain for KeyInfo')
  t.match(hub.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/)
  const leafOnly = await loadHubIdentity({ keyFile: HUB.keyFile, certFile: HUB.certFile })
  t.equal(leafOnly.certificatePem.match(/BEGIN CERTIFICATE/g)?.length, 1, 'without a chain file, the leaf alone')
  const leafOnlyReceipt = issueReceipt(CASES[2] as ReceiptFields, leafOnly)
  t.match(await verifyReceipt(leafOnlyReceipt, trustStore, { hub: hubPinOf(leafOnly.certificate) }), { ok: true }, 'the trust store supplies the intermediate')
  t.equal(xmlsec1(save('leaf-only.xml', leafOnlyReceipt)).status, 0, 'xmlsec1 takes the intermediate from --untrusted-pem')

  const special = (name: string): Parameters<typeof loadHubIdentity>[0] => ({ keyFile: join(PKI, 'special', name, 'key.pem'), certFile: join(PKI, 'special', name, 'cert.pem') })
  const refusals: [string, Parameters<typeof loadHubIdentity>[0], RegExp][] = [
    ['key of another certificate', { keyFile: join(G22, 'key.pem'), certFile: HUB.certFile }, /is not the private key of the certificate/],
    ['missing key file', { keyFile: join(PKI, 'hub', 'nope.pem'), certFile: HUB.certFile }, /cannot read the hub private key .*nope\.pem: no such file/],
    ['missing certificate file', { keyFile: HUB.keyFile, certFile: join(PKI, 'hub', 'nope.pem') }, /cannot read the hub certificate .*: no such file/],
    ['missing chain file', { ...HUB, chainFile: join(PKI, 'hub', 'nope.pem') }, /cannot read the hub chain/],
    ['a certificate file with no certificate', { keyFile: HUB.keyFile, certFile: HUB.keyFile }, /no CERTIFICATE block/],
    ['a key file with no key', { keyFile: HUB.certFile, certFile: HUB.certFile }, /not a readable unencrypted private key/],
    ['expired certificate', { keyFile: join(PKI, 'special', 'expired', 'key.pem'), certFile: join(PKI, 'special', 'expired', 'cert.pem') }, /expired on 2021-01-01/],
    ['used after expiry', { ...HUB, now: new Date('2032-01-01T00:00:00Z') }, /expired on 2031-12-07/],
    ['chain that did not issue it', { ...HUB, chainFile: join(TRUST, 'root-ca.pem') }, /did not issue/],
    ['certificate not for signing', special('no-signing-usage'), /allows neither digitalSignature nor nonRepudiation/],
    ['1024-bit key', special('weak-key'), /1024 bits; at least 2048/],
    ['CA certificate', special('ca-leaf'), /is a CA certificate/]
  ]
  for (const [what, files, message] of refusals) await t.rejects(loadHubIdentity(files), { name: 'HubIdentityError', message }, what)
  t.ok(new HubIdentityError('x') instanceof Error)
})

t.test('CLI: lienthong receipt verify', async (t) => {
  const good = save('cli-acceptance.xml', issueReceipt(CASES[3] as ReceiptFields, hub))
  const bad = save('cli-tampered.xml', readFileSync(good, 'utf8').replace(DIGEST, OTHER_DIGEST))
  const run = async (...args: string[]): Promise<{ out: string, exitCode: number | string | undefined }> => {
    const write = process.stdout.write
    const saved = process.exitCode
    let out = ''
    process.stdout.write = ((chunk: string) => { out += chunk; return true }) as typeof process.stdout.write
    try {
      await new Command().exitOverride().addCommand(receiptCommand()).parseAsync(['receipt', 'verify', ...args], { from: 'user' })
      return { out, exitCode: process.exitCode }
    } finally {
      process.stdout.write = write
      process.exitCode = saved
    }
  }
  const ok = await run(good)
  t.equal(ok.exitCode, 0)
  t.match(ok.out, /cli-acceptance\.xml: VALID rejection receipt, signed by .*UID=000\.00\.00\.HUB/)
  t.match(ok.out, /claimedSender +Văn phòng Chính phủ & <không rõ>/)
  t.match(ok.out, /detail +"chứng thư .*\\t\\"trích dẫn\\" 'đơn'"/, 'a tab in free text is shown escaped')

  const mixed = await run('--json', good, bad)
  t.equal(mixed.exitCode, 1)
  const [first, second] = mixed.out.trim().split('\n').map((line) => JSON.parse(line))
  t.strictSame(first.fields, CASES[3])
  t.match(second, { ok: false, code: 'DIGEST_MISMATCH' })

  const notHub = await run('--hub-cert', join(G22, 'cert.pem'), good)
  t.equal(notHub.exitCode, 1)
  t.match(notHub.out, /INVALID SIGNER_NOT_HUB/)
  const byFingerprint = await run('--hub-fingerprint', hub.certificate.fingerprint256, '--hub-uid', '000.00.00.HUB', good)
  t.equal(byFingerprint.exitCode, 0, '--hub-fingerprint with colons and --hub-uid')
})
