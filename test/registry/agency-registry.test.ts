import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import * as pkijs from 'pkijs'
import { AgencyRegistry, RegistryError, type SignerIdentity } from '../../src/registry/agency-registry.js'
import type { AgencyEntry, PushDelivery } from '../../src/registry/registry-format.js'
import { pinOf, pushSettingsFromEnv, SECURE_PUSH } from '../../src/registry/push-endpoint.js'
import { subjectAttributeMap } from '../../src/pki/leaf-policy.js'
import { PKI } from '../helpers/example-pki.js'

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H41 = '000.00.00.H41'
const H29 = '000.00.00.H29'
const UID_OID = '0.9.2342.19200300.100.1.1'
const HUB_TLS_FP = new X509Certificate(readFileSync(join(PKI, 'hub/tls-cert.pem'))).fingerprint256.replaceAll(':', '').toLowerCase()

/** The identity sender binding sees, read from a real certificate of certs-example/. */
function identityOf (path: string): SignerIdentity {
  const pem = readFileSync(join(PKI, path), 'utf8')
  const node = new X509Certificate(pem)
  return {
    fingerprintSha256: node.fingerprint256.replaceAll(':', '').toLowerCase(),
    subject: subjectAttributeMap(pkijs.Certificate.fromBER(Uint8Array.from(node.raw)))
  }
}
const cert = {
  g22: identityOf('agencies/000.00.00.G22/cert.pem'),
  g12: identityOf('agencies/000.00.00.G12/cert.pem'),
  h29: identityOf('agencies/000.00.00.H29/cert.pem')
}
const agency = (registry: AgencyRegistry, code: string): AgencyEntry => {
  const entry = registry.get(code)
  if (entry == null) throw new Error(`${code} missing from the registry under test`)
  return entry
}

t.test('the demo registry (certs-example/registry.json)', async (t) => {
  const registry = await AgencyRegistry.load(join(PKI, 'registry.json'))
  t.same(registry.all().map((a) => a.code), [G22, G12, H41, H29], '4 agencies, in file order')
  t.same(agency(registry, G22).delivery, { mode: 'push', url: 'https://127.0.0.1:9441/edxml', serverCertificates: [HUB_TLS_FP] }, 'pinned to the TLS certificate the demo recipients serve')
  t.same(agency(registry, G12).delivery, { mode: 'pull' })
  t.same(registry.all().map((a) => [a.code, a.allowWeakAlgorithms]), [[G22, false], [G12, false], [H41, true], [H29, false]], 'only H41 allows weak algorithms')
  t.same(agency(registry, H29).certificates, [], 'H29 has no fingerprint')
  t.same(agency(registry, H29).subjectRule, { UID: H29 })
  t.equal(agency(registry, G22).certificates[0], cert.g22.fingerprintSha256, 'G22 registers its committed certificate')
  t.equal(registry.get('000.00.00.XXX'), undefined)
})

t.test('a missing registry file: RegistryError naming the file', async (t) => {
  const file = join(t.testdir(), 'registry.json')
  const err = await AgencyRegistry.load(file).then(() => undefined, (e: unknown) => e)
  t.type(err, RegistryError)
  t.match((err as Error).message, `cannot read agency registry ${file}`)
})

// A well-formed entry the bad cases below each break in one way.
const FP = 'a1e33f6c2c6d9354beebabba795dda6780743075b87e2715c56422ef846699c4'
const entry = (over: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ code: G22, name: 'Văn phòng Chính phủ', certificates: [FP], delivery: { mode: 'pull' }, ...over })
const SOURCE = '/etc/lienthong/registry.json'

t.test('bad registries: RegistryError whose message names the source and the bad path', async (t) => {
  t.doesNotThrow(() => AgencyRegistry.fromJson({ version: 1, agencies: [entry(), entry({ code: G12 })] }, SOURCE), 'the base entry is good')
  const cases: { name: string, raw: unknown, path: string, says: RegExp }[] = [
    { name: 'wrong version', raw: { version: 2, agencies: [entry()] }, path: '/version', says: /Expected 1/ },
    { name: 'duplicate code', raw: { version: 1, agencies: [entry(), entry({ certificates: [], subjectRule: { UID: G22 } })] }, path: '/agencies/1', says: /listed twice/ },
    { name: 'bad fingerprint', raw: { version: 1, agencies: [entry({ certificates: [FP, FP.slice(2)] })] }, path: '/agencies/0/certificates/1', says: /Expected string to match/ },
    { name: 'unknown subjectRule attribute', raw: { version: 1, agencies: [entry({ subjectRule: { UID: G22, Surname: 'Nguyễn' } })] }, path: '/agencies/0/subjectRule', says: /unknown subject attribute "Surname"/ },
    { name: 'neither certificates nor subjectRule', raw: { version: 1, agencies: [entry({ code: G12 }), entry({ certificates: [] })] }, path: '/agencies/1', says: /neither certificates nor a subjectRule/ },
    { name: 'push without url', raw: { version: 1, agencies: [entry({ delivery: { mode: 'push' } })] }, path: '/agencies/0/delivery', says: /Expected union value/ },
    { name: 'extra property in an agency', raw: { version: 1, agencies: [entry({ pushUrl: 'https://x.example' })] }, path: '/agencies/0/pushUrl', says: /Unexpected property/ },
    { name: 'extra top-level property', raw: { version: 1, agencies: [entry()], comment: 'x' }, path: '/comment', says: /Unexpected property/ },
    { name: 'bad agency code', raw: { version: 1, agencies: [entry({ code: '000 00 G22' })] }, path: '/agencies/0/code', says: /Expected string to match/ },
    { name: 'not an object at all', raw: [], path: '/', says: /Expected object/ }
  ]
  for (const c of cases) {
    let err: unknown
    try {
      AgencyRegistry.fromJson(c.raw, SOURCE)
    } catch (e) {
      err = e
    }
    t.type(err, RegistryError, `${c.name}: RegistryError`)
    const message = (err as Error | undefined)?.message ?? ''
    t.match(message, c.says, `${c.name}: says what is wrong (${message})`)
    t.match(message, `${SOURCE}: ${c.path}`, `${c.name}: names ${SOURCE} and ${c.path}`)
  }
})

t.test('binds(): by fingerprint, normalised', async (t) => {
  const upperWithColons = cert.g22.fingerprintSha256.toUpperCase().match(/../g)?.join(':') ?? ''
  t.match(upperWithColons, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  const registry = AgencyRegistry.fromJson({ version: 1, agencies: [entry({ certificates: [upperWithColons] })] })
  const g22 = agency(registry, G22)
  t.same(g22.certificates, [cert.g22.fingerprintSha256], 'stored lower-case without colons')
  t.equal(registry.binds(g22, cert.g22), true, 'the registered certificate binds')
  t.equal(registry.binds(g22, cert.g12), false, 'another agency\'s valid certificate does not')
})

t.test('binds(): by subject rule, every attribute must match', async (t) => {
  const H29_NAME = 'Ủy ban nhân dân thành phố Hồ Chí Minh'
  t.same(cert.h29.subject.get(UID_OID), [H29], 'the H29 certificate carries UID=000.00.00.H29')
  const table: { rule: Record<string, string>, signer: SignerIdentity, binds: boolean, why: string }[] = [
    { rule: { UID: H29 }, signer: cert.h29, binds: true, why: 'the one attribute matches' },
    { rule: { UID: H29, ST: 'Hồ Chí Minh', O: H29_NAME, C: 'VN' }, signer: cert.h29, binds: true, why: 'all four attributes match' },
    { rule: { [UID_OID]: H29, CN: H29_NAME }, signer: cert.h29, binds: true, why: 'a dotted OID key works like its name' },
    { rule: { UID: H29, ST: 'Hà Nội' }, signer: cert.h29, binds: false, why: 'one attribute (ST) is wrong' },
    { rule: { UID: H29, OU: 'Văn thư' }, signer: cert.h29, binds: false, why: 'an attribute the subject does not have' },
    { rule: { UID: H29.toLowerCase() }, signer: cert.h29, binds: false, why: 'values compare exactly (case)' },
    { rule: { UID: H29 }, signer: cert.g22, binds: false, why: 'another agency\'s certificate' },
    { rule: { C: 'VN' }, signer: cert.g22, binds: true, why: 'a loose rule binds any trusted subject (why fingerprints are preferred)' }
  ]
  for (const c of table) {
    const registry = AgencyRegistry.fromJson({ version: 1, agencies: [entry({ code: H29, certificates: [], subjectRule: c.rule })] })
    t.equal(registry.binds(agency(registry, H29), c.signer), c.binds, `${JSON.stringify(c.rule)}: ${c.binds ? 'binds' : 'does not bind'}: ${c.why}`)
  }
})

t.test('binds(): fingerprint and rule together, either one suffices', async (t) => {
  const registry = AgencyRegistry.fromJson({ version: 1, agencies: [entry({ certificates: [cert.g22.fingerprintSha256], subjectRule: { UID: H29 } })] })
  const both = agency(registry, G22)
  t.equal(registry.binds(both, cert.g22), true, 'by fingerprint')
  t.equal(registry.binds(both, cert.h29), true, 'by rule')
  t.equal(registry.binds(both, cert.g12), false, 'neither')
})

// F12 and F06 (a): a push entry must be https and pinned to the recipient's server certificate;
// the development settings let an exception through, loudly.
t.test('F12: an http:// push URL is refused by the registry unless LIENTHONG_DEV_ALLOW_HTTP_PUSH', async (t) => {
  const raw = { version: 1, agencies: [entry({ delivery: { mode: 'push', url: 'http://10.0.0.5/edxml', serverCertificates: [FP] } })] }
  t.throws(() => AgencyRegistry.fromJson(raw, SOURCE, { push: SECURE_PUSH }), { name: 'RegistryError', message: /\/agencies\/0\/delivery agency 000\.00\.00\.G22: the push URL http:\/\/10\.0\.0\.5\/edxml is plain http .*only https is allowed/ })
  const warnings: string[] = []
  const registry = AgencyRegistry.fromJson(raw, SOURCE, { push: { ...SECURE_PUSH, allowPlainHttp: true }, warn: (m) => warnings.push(m) })
  t.equal(registry.get(G22)?.delivery.mode, 'push', 'accepted behind the development setting')
  t.match(warnings, [/WARNING: agency 000\.00\.00\.G22 is pushed to over PLAIN HTTP/], 'and said loudly')
  t.throws(() => AgencyRegistry.fromJson({ version: 1, agencies: [entry({ delivery: { mode: 'push', url: 'ftp://x/edxml', serverCertificates: [FP] } })] }, SOURCE), /Expected union value/)
})

t.test('F06: a push entry without a server-certificate pin is refused unless LIENTHONG_DEV_ALLOW_UNPINNED_PUSH', async (t) => {
  const raw = { version: 1, agencies: [entry({ delivery: { mode: 'push', url: 'https://agency.example/edxml' } })] }
  t.throws(() => AgencyRegistry.fromJson(raw, SOURCE, { push: SECURE_PUSH }), { name: 'RegistryError', message: /has no server-certificate pin/ })
  const warnings: string[] = []
  AgencyRegistry.fromJson(raw, SOURCE, { push: { ...SECURE_PUSH, allowUnpinned: true }, warn: (m) => warnings.push(m) })
  t.match(warnings, [/NO server-certificate pin/])
  const pinned = AgencyRegistry.fromJson({ version: 1, agencies: [entry({ delivery: { mode: 'push', url: 'https://agency.example/edxml', serverCertificates: [FP.toUpperCase()] } })] }, SOURCE, { push: SECURE_PUSH, warn: (m) => warnings.push(m) })
  t.same(pinOf(pinned.get(G22)?.delivery as PushDelivery), { fingerprints: [FP] }, 'a fingerprint pin, normalised')
  t.ok(AgencyRegistry.fromJson({ version: 1, agencies: [entry({ delivery: { mode: 'push', url: 'https://agency.example/edxml', serverSubject: { UID: G22 } } })] }, SOURCE, { push: SECURE_PUSH }), 'a subject pin')
  t.throws(() => AgencyRegistry.fromJson({ version: 1, agencies: [entry({ delivery: { mode: 'push', url: 'https://a.example/', serverSubject: { Nickname: 'x' } } })] }, SOURCE),
    /\/agencies\/0\/delivery\/serverSubject\/Nickname unknown subject attribute/)
  t.throws(() => AgencyRegistry.fromJson({ version: 1, agencies: [entry({ delivery: { mode: 'push', url: 'https://a.example/', serverCertificates: [] } })] }, SOURCE), /Expected union value/, 'an empty fingerprint list is no pin')
  t.equal(warnings.length, 1, 'pinned https entries raise no warning')
})

t.test('the development push settings are read strictly from the environment', async (t) => {
  t.same(pushSettingsFromEnv({}), SECURE_PUSH, 'off by default')
  t.same(pushSettingsFromEnv({ LIENTHONG_DEV_ALLOW_HTTP_PUSH: 'true', LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: '1' }), { allowPlainHttp: true, allowUnpinned: true })
  t.same(pushSettingsFromEnv({ LIENTHONG_DEV_ALLOW_HTTP_PUSH: 'false', LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: '' }), SECURE_PUSH)
  t.throws(() => pushSettingsFromEnv({ LIENTHONG_DEV_ALLOW_HTTP_PUSH: 'yes please' }), /LIENTHONG_DEV_ALLOW_HTTP_PUSH: "yes please" is not true, 1, false, 0 or empty/)
})
