import t, { type Test as Tap } from 'tap'
import { createPrivateKey, verify, webcrypto, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { DirectoryNotEmptyError, generateExamplePki } from '../../src/pki/example-pki.js'

const DAY = 86_400_000
const now = new Date()
const dir = t.testdir()
await generateExamplePki(dir, { now })

const AGENCIES = ['000.00.00.G22', '000.00.00.G12', '000.00.00.H41', '000.00.00.H29']
const read = async (path: string): Promise<string> => await readFile(join(dir, path), 'utf8')
const cert = async (path: string): Promise<X509Certificate> => new X509Certificate(await read(path))
const fp = (c: X509Certificate): string => c.fingerprint256.replaceAll(':', '').toLowerCase()
const der = (pem: string): ArrayBuffer => {
  const b64 = pem.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, '')
  return Uint8Array.from(Buffer.from(b64, 'base64')).buffer
}
const pkijsCert = (c: X509Certificate): pkijs.Certificate => pkijs.Certificate.fromBER(Uint8Array.from(c.raw).buffer)
const extensionHex = (c: X509Certificate, oid: string): string | undefined => {
  const ext = pkijsCert(c).extensions?.find((e) => e.extnID === oid)
  return ext === undefined ? undefined : Buffer.from(ext.extnValue.valueBlock.valueHexView).toString('hex')
}
const KEY_USAGE = '2.5.29.15'
const SIGNING_USAGE = '030206c0' // digitalSignature + nonRepudiation

const root = await cert('trust/root-ca.pem')
const issuing = await cert('trust/issuing-ca.pem')

/** Parses a CRL and checks its signature with Node's crypto (independently of pkijs, which made it). */
async function loadCrl (t: Tap, path: string, issuer: X509Certificate): Promise<pkijs.CertificateRevocationList> {
  const crl = pkijs.CertificateRevocationList.fromBER(der(await read(path)))
  t.equal(crl.signatureAlgorithm.algorithmId, '1.2.840.113549.1.1.11', `${path}: sha256WithRSAEncryption`)
  t.ok(verify('sha256', crl.tbsView, issuer.publicKey, crl.signatureValue.valueBlock.valueHexView), `${path}: signed by ${issuer.subject.split('\n').at(-1) ?? ''}`)
  t.ok(Buffer.from(crl.issuer.valueBeforeDecode).equals(Buffer.from(pkijsCert(issuer).subject.valueBeforeDecode)), `${path}: issuer name is the CA's subject, byte for byte`)
  return crl
}

function crlNumber (crl: pkijs.CertificateRevocationList): number {
  const ext = crl.crlExtensions?.extensions.find((e) => e.extnID === '2.5.29.20')
  const parsed = ext === undefined ? undefined : asn1js.fromBER(ext.extnValue.valueBlock.valueHexView).result
  return parsed instanceof asn1js.Integer ? parsed.valueBlock.valueDec : NaN
}

t.test('CA hierarchy', async (t) => {
  t.ok(root.ca, 'root is a CA')
  t.ok(root.checkIssued(root) && root.verify(root.publicKey), 'root is self-signed')
  t.match(root.subject, /CN=Vietnam Example National Root CA/)
  t.ok(issuing.ca, 'issuing is a CA')
  t.ok(issuing.checkIssued(root) && issuing.verify(root.publicKey), 'issuing CA issued by root')
  t.match(issuing.subject, /CN=Example Government Issuing CA/)
  t.ok(new Date(root.validTo).getTime() > now.getTime() + 19 * 365 * DAY)
  t.ok(new Date(issuing.validTo).getTime() > now.getTime() + 14 * 365 * DAY)
  t.ok(new Date(issuing.validFrom).getTime() < now.getTime())
})

t.test('agency signing certificates', async (t) => {
  for (const code of AGENCIES) {
    const c = await cert(`agencies/${code}/cert.pem`)
    t.ok(c.checkIssued(issuing) && c.verify(issuing.publicKey), `${code} issued by the issuing CA`)
    t.notOk(c.ca, `${code} is not a CA`)
    t.match(c.subject, new RegExp(`^C=VN\nST=.+\nO=.+\nCN=.+\nUID=${code.replaceAll('.', '\\.')}$`), `${code} subject`)
    t.equal(c.publicKey.asymmetricKeyDetails?.modulusLength, 2048)
    t.equal(extensionHex(c, KEY_USAGE), SIGNING_USAGE, `${code} keyUsage`)
    t.ok(c.checkPrivateKey(createPrivateKey(await read(`agencies/${code}/key.pem`))), `${code} key matches`)
    t.equal((await cert(`agencies/${code}/chain.pem`)).fingerprint256, issuing.fingerprint256, `${code} chain.pem`)
    t.ok(new Date(c.validTo).getTime() > now.getTime() + 4 * 365 * DAY)
  }
  // Vietnamese text is UTF8String, C is PrintableString.
  const g22 = pkijsCert(await cert('agencies/000.00.00.G22/cert.pem'))
  const values = g22.subject.typesAndValues
  t.ok(values[0]?.value instanceof asn1js.PrintableString, 'C is a PrintableString')
  t.ok(values.slice(1).every((v) => v.value instanceof asn1js.Utf8String), 'other attributes are UTF8String')
  t.equal(values[2]?.value.valueBlock.value, 'Văn phòng Chính phủ')
  t.equal(values[4]?.type, '0.9.2342.19200300.100.1.1', 'UID attribute')
  t.match(await read('agencies/000.00.00.G22/key.pem'), /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8, unencrypted')
})

// Hub 1 stays in hub/ (id `hub`); the peers of a backbone test live under hubs/.
const HUBS = [
  { id: 'hub', dir: 'hub', uid: '000.00.00.HUB' },
  { id: 'hub-2', dir: 'hubs/hub-2', uid: '000.00.00.HUB2' },
  { id: 'hub-3', dir: 'hubs/hub-3', uid: '000.00.00.HUB3' }
]
const HUB_CERTS = HUBS.flatMap((h) => [`${h.dir}/signing-cert.pem`, `${h.dir}/tls-cert.pem`])

t.test('hub certificates', async (t) => {
  for (const { id, dir: hubDir, uid } of HUBS) {
    const signing = await cert(`${hubDir}/signing-cert.pem`)
    t.ok(signing.checkIssued(issuing) && signing.verify(issuing.publicKey), `${id}: signing certificate issued by the issuing CA`)
    t.match(signing.subject, new RegExp(`\nUID=${uid.replaceAll('.', '\\.')}$`), `${id}: subject UID ${uid}`)
    t.notOk(signing.ca, `${id}: signing certificate is not a CA`)
    t.equal(extensionHex(signing, KEY_USAGE), SIGNING_USAGE, `${id}: signing keyUsage`)
    t.ok(signing.checkPrivateKey(createPrivateKey(await read(`${hubDir}/signing-key.pem`))), `${id}: signing key matches`)
    const tls = await cert(`${hubDir}/tls-cert.pem`)
    t.ok(tls.checkIssued(issuing) && tls.verify(issuing.publicKey), `${id}: TLS certificate issued by the issuing CA`)
    t.ok(tls.checkPrivateKey(createPrivateKey(await read(`${hubDir}/tls-key.pem`))), `${id}: TLS key matches`)
    t.equal(tls.checkHost('localhost'), 'localhost', `${id}: SAN localhost`)
    t.equal(tls.checkIP('127.0.0.1'), '127.0.0.1', `${id}: SAN 127.0.0.1`)
    t.equal(tls.checkIP('::1'), '::1', `${id}: SAN ::1`)
    t.same([...(tls.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], `${id}: EKU serverAuth + clientAuth`)
    t.equal(extensionHex(tls, KEY_USAGE), '030205a0', `${id}: keyUsage digitalSignature + keyEncipherment`)
    t.ok(new Date(signing.validTo).getTime() > now.getTime() + 4 * 365 * DAY, `${id}: valid for years`)
  }
  // Each hub has keys of its own: a peer must not be able to sign or serve TLS as another.
  const keys = await Promise.all(HUB_CERTS.map(async (p) => (await cert(p)).publicKey.export({ type: 'spki', format: 'der' }).toString('hex')))
  t.equal(new Set(keys).size, keys.length, 'six distinct public keys')
})

t.test('CA keys are kept in ca/, outside trust/', async (t) => {
  t.ok(root.checkPrivateKey(createPrivateKey(await read('ca/root-ca.key.pem'))), 'ca/root-ca.key.pem is the root CA key')
  t.ok(issuing.checkPrivateKey(createPrivateKey(await read('ca/issuing-ca.key.pem'))), 'ca/issuing-ca.key.pem is the issuing CA key')
  for (const file of ['root-ca.pem', 'issuing-ca.pem', 'root-ca.crl.pem', 'issuing-ca.crl.pem']) {
    t.notMatch(await read(`trust/${file}`), /PRIVATE KEY/, `trust/${file} holds no private key`)
  }
})

t.test('CRLs', async (t) => {
  const rootCrl = await loadCrl(t, 'trust/root-ca.crl.pem', root)
  t.equal(rootCrl.revokedCertificates, undefined, 'root CRL has no entries')
  t.equal(crlNumber(rootCrl), 1)

  const crl = await loadCrl(t, 'trust/issuing-ca.crl.pem', issuing)
  t.equal(crlNumber(crl), 1)
  t.ok(crl.crlExtensions?.extensions.some((e) => e.extnID === '2.5.29.35'), 'authorityKeyIdentifier')
  t.ok(Math.abs(crl.thisUpdate.value.getTime() - (now.getTime() - 3_600_000)) < 2000, 'thisUpdate = now - 1h')
  t.ok((crl.nextUpdate?.value.getTime() ?? 0) > now.getTime() + 9 * 365 * DAY, 'nextUpdate = now + 10y')
  const revoked = await cert('special/revoked/cert.pem')
  t.ok(revoked.checkIssued(issuing) && revoked.verify(issuing.publicKey))
  t.match(revoked.subject, /UID=000\.00\.00\.H41/)
  const entries = crl.revokedCertificates ?? []
  t.equal(entries.length, 1)
  const serial = Buffer.from(entries[0]?.userCertificate.valueBlock.valueHexView ?? []).toString('hex')
  t.equal(serial.toUpperCase(), revoked.serialNumber.toUpperCase(), 'revoked serial is listed')
  const reason = entries[0]?.crlEntryExtensions?.extensions.find((e) => e.extnID === '2.5.29.21')
  t.equal(Buffer.from(reason?.extnValue.valueBlock.valueHexView ?? []).toString('hex'), '0a0101', 'reason keyCompromise')

  const stale = await loadCrl(t, 'special/stale-trust/issuing-ca.crl.pem', issuing)
  t.ok((stale.nextUpdate?.value.getTime() ?? Infinity) < now.getTime(), 'stale CRL nextUpdate is in the past')
  for (const file of ['root-ca.pem', 'issuing-ca.pem', 'root-ca.crl.pem']) {
    t.equal(await read(`special/stale-trust/${file}`), await read(`trust/${file}`), `stale-trust/${file} is a copy`)
  }
})

t.test('path validation with pkijs and the CRLs', async (t) => {
  const crypto = new pkijs.CryptoEngine({ name: 'test', crypto: webcrypto as unknown as Crypto })
  const crls = [
    pkijs.CertificateRevocationList.fromBER(der(await read('trust/root-ca.crl.pem'))),
    pkijs.CertificateRevocationList.fromBER(der(await read('trust/issuing-ca.crl.pem')))
  ]
  const validate = async (leafPath: string): Promise<boolean> => {
    const engine = new pkijs.CertificateChainValidationEngine({
      trustedCerts: [pkijsCert(root)],
      certs: [pkijsCert(issuing), pkijsCert(await cert(leafPath))],
      crls,
      checkDate: now
    })
    return (await engine.verify({}, crypto)).result
  }
  t.ok(await validate('agencies/000.00.00.G22/cert.pem'), 'agency certificate validates')
  t.notOk(await validate('special/revoked/cert.pem'), 'revoked certificate does not')
  t.notOk(await validate('special/expired/cert.pem'), 'expired certificate does not')
})

t.test('special certificates', async (t) => {
  const g22 = await cert('agencies/000.00.00.G22/cert.pem')

  const expired = await cert('special/expired/cert.pem')
  t.ok(expired.checkIssued(issuing) && expired.verify(issuing.publicKey))
  t.equal(new Date(expired.validFrom).toISOString(), '2020-01-01T00:00:00.000Z')
  t.equal(new Date(expired.validTo).toISOString(), '2021-01-01T00:00:00.000Z')
  t.ok(new Date(expired.validTo).getTime() < Date.now(), 'notAfter is in the past')
  t.match(expired.subject, /UID=000\.00\.00\.G12/)

  const untrustedRoot = await cert('special/untrusted/root-ca.pem')
  const untrusted = await cert('special/untrusted/cert.pem')
  t.match(untrustedRoot.subject, /CN=Untrusted Example Root/)
  t.ok(untrusted.checkIssued(untrustedRoot) && untrusted.verify(untrustedRoot.publicKey))
  t.notOk(untrusted.checkIssued(issuing) || untrusted.verify(issuing.publicKey), 'not issued by the issuing CA')
  t.equal(untrusted.subject, g22.subject, 'claims G22 with the same subject')
  t.ok(Buffer.from(pkijsCert(untrusted).subject.toSchema().toBER()).equals(Buffer.from(pkijsCert(g22).subject.toSchema().toBER())))

  const caLeaf = await cert('special/ca-leaf/cert.pem')
  t.ok(caLeaf.checkIssued(issuing) && caLeaf.verify(issuing.publicKey))
  t.ok(caLeaf.ca, 'ca-leaf has cA=true')
  t.equal(extensionHex(caLeaf, KEY_USAGE), '03020284', 'keyUsage digitalSignature + keyCertSign')

  const noSigning = await cert('special/no-signing-usage/cert.pem')
  t.ok(noSigning.checkIssued(issuing) && noSigning.verify(issuing.publicKey))
  t.equal(extensionHex(noSigning, KEY_USAGE), '03020520', 'keyUsage keyEncipherment only')

  const weak = await cert('special/weak-key/cert.pem')
  t.ok(weak.checkIssued(issuing) && weak.verify(issuing.publicKey))
  t.equal(weak.publicKey.asymmetricKeyDetails?.modulusLength, 1024)
  t.ok(weak.checkPrivateKey(createPrivateKey(await read('special/weak-key/key.pem'))))

  for (const c of [caLeaf, noSigning, weak]) t.equal(c.subject, g22.subject)
  for (const name of ['revoked', 'expired', 'untrusted', 'ca-leaf', 'no-signing-usage', 'weak-key']) {
    const c = await cert(`special/${name}/cert.pem`)
    t.ok(c.checkPrivateKey(createPrivateKey(await read(`special/${name}/key.pem`))), `${name} key matches`)
  }
})

t.test('registry.json', async (t) => {
  const registry = JSON.parse(await read('registry.json'))
  t.equal(registry.version, 1)
  t.same(registry.agencies.map((a: { code: string }) => a.code), AGENCIES)
  const fps = async (...paths: string[]): Promise<string[]> => await Promise.all(paths.map(async (p) => fp(await cert(p))))
  const expected: Record<string, string[]> = {
    '000.00.00.G22': await fps('agencies/000.00.00.G22/cert.pem', 'special/ca-leaf/cert.pem', 'special/no-signing-usage/cert.pem', 'special/weak-key/cert.pem'),
    '000.00.00.G12': await fps('agencies/000.00.00.G12/cert.pem', 'special/expired/cert.pem'),
    '000.00.00.H41': await fps('agencies/000.00.00.H41/cert.pem', 'special/revoked/cert.pem'),
    '000.00.00.H29': []
  }
  for (const agency of registry.agencies) {
    t.same([...agency.certificates].sort(), [...(expected[agency.code] ?? ['?'])].sort(), `${agency.code} fingerprints`)
    for (const f of agency.certificates) t.match(f, /^[0-9a-f]{64}$/)
  }
  const byCode = new Map(registry.agencies.map((a: { code: string }) => [a.code, a]))
  t.same(byCode.get('000.00.00.H29'), {
    code: '000.00.00.H29',
    name: 'Ủy ban nhân dân thành phố Hồ Chí Minh',
    certificates: [],
    subjectRule: { UID: '000.00.00.H29' },
    allowWeakAlgorithms: false,
    delivery: { mode: 'push', url: 'https://127.0.0.1:9442/edxml', serverCertificates: [fp(await cert('hub/tls-cert.pem'))] }
  })
  t.same(Object.keys(byCode.get('000.00.00.G22') as object), ['code', 'name', 'certificates', 'allowWeakAlgorithms', 'delivery'])
  // Push endpoints are pinned to the one TLS server certificate of the PKI, which the demo recipients serve.
  t.same((byCode.get('000.00.00.G22') as { delivery: unknown }).delivery, { mode: 'push', url: 'https://127.0.0.1:9441/edxml', serverCertificates: [fp(await cert('hub/tls-cert.pem'))] })
  t.same((byCode.get('000.00.00.G12') as { delivery: unknown }).delivery, { mode: 'pull' })
  t.equal((byCode.get('000.00.00.H41') as { allowWeakAlgorithms: boolean }).allowWeakAlgorithms, true)
  const all = registry.agencies.flatMap((a: { certificates: string[] }) => a.certificates)
  for (const path of ['special/untrusted/cert.pem', ...HUB_CERTS]) {
    t.notOk(all.includes(fp(await cert(path))), `${path} is not registered`)
  }
})

t.test('README', async (t) => {
  const readme = await read('README.md')
  t.match(readme, /NOT FOR PRODUCTION/)
  t.match(readme, /npx lienthong pki init DIR/)
  for (const { id, dir: hubDir, uid } of HUBS) {
    t.match(readme, `| \`${id}\` | \`${hubDir}/\` | ${uid} |`, `Hubs table lists ${id}`)
    t.match(readme, `| \`${hubDir}/signing-cert.pem\` | `, `fingerprint row of ${id}'s signing certificate`)
  }
  t.match(readme, '`ca/root-ca.key.pem`, `ca/issuing-ca.key.pem`')
})

t.test('refuses a non-empty directory without force', async (t) => {
  await t.rejects(generateExamplePki(dir), DirectoryNotEmptyError)
  await t.rejects(generateExamplePki(dir, { force: false }), /not empty/)
})
