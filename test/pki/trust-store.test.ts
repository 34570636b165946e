import t from 'tap'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TrustStore, TrustStoreError } from '../../src/pki/trust-store.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { defaultPolicy } from '../../src/verification/verification-policy.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'

const TRUST = join(PKI, 'trust')
const STALE = join(PKI, 'special', 'stale-trust')
const ROOT_CN = 'C=VN, O=Example PKI (NOT FOR PRODUCTION), CN=Vietnam Example National Root CA'
const ISSUING_CN = 'C=VN, O=Example PKI (NOT FOR PRODUCTION), CN=Example Government Issuing CA'
// certs-example/README.md: the CRLs in trust/ are good until 2036-12-07T03:09:03Z.
const AFTER_NEXT_UPDATE = new Date('2036-12-08T00:00:00Z')

t.test('certs-example/trust: one anchor, one intermediate, two CRLs, classified by content', async (t) => {
  const store = await TrustStore.load(TRUST)
  t.equal(store.dir, TRUST)
  t.equal(store.anchors.length, 1, 'anchors')
  t.equal(store.intermediates.length, 1, 'intermediates')
  t.equal(store.crls.length, 2, 'CRLs')
  t.equal(store.anchors[0]?.file, join(TRUST, 'root-ca.pem'))
  t.equal(store.intermediates[0]?.file, join(TRUST, 'issuing-ca.pem'))
  t.same(store.crls.map((c) => [c.file, c.issuer, c.crlNumber]), [
    [join(TRUST, 'issuing-ca.crl.pem'), ISSUING_CN, '1'],
    [join(TRUST, 'root-ca.crl.pem'), ROOT_CN, '1']
  ])
})

t.test('crlFreshness: fresh now, not fresh after nextUpdate, stale-trust reports its issuing CRL', async (t) => {
  const store = await TrustStore.load(TRUST)
  const freshness = (s: TrustStore, at?: Date): Record<string, boolean> =>
    Object.fromEntries(s.crlFreshness(at).map((c) => [c.issuer, c.fresh]))
  t.same(freshness(store), { [ISSUING_CN]: true, [ROOT_CN]: true }, 'now')
  t.same(freshness(store, AFTER_NEXT_UPDATE), { [ISSUING_CN]: false, [ROOT_CN]: false }, 'after nextUpdate')
  t.same(freshness(store, new Date('2026-01-01T00:00:00Z')), { [ISSUING_CN]: false, [ROOT_CN]: false }, 'before thisUpdate')
  const report = store.crlFreshness().find((c) => c.issuer === ISSUING_CN)
  t.same(report, {
    issuer: ISSUING_CN,
    file: join(TRUST, 'issuing-ca.crl.pem'),
    crlNumber: '1',
    thisUpdate: '2026-12-07T02:09:03.000Z',
    nextUpdate: '2036-12-07T03:09:03.000Z',
    fresh: true
  })

  const stale = await TrustStore.load(STALE)
  t.same(freshness(stale), { [ISSUING_CN]: false, [ROOT_CN]: true }, 'stale-trust now')
  const staleIssuing = stale.crlFreshness().find((c) => c.issuer === ISSUING_CN)
  t.equal(staleIssuing?.crlNumber, '0')
  t.equal(staleIssuing?.nextUpdate, '2026-11-07T03:09:03.000Z')
  t.equal(staleIssuing?.file, join(STALE, 'issuing-ca.crl.pem'))
})

t.test('broken trust directories: a TrustStoreError naming the file', async (t) => {
  const base = t.testdir()
  const pem = (label: string, body: string): string => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`
  const withRoot = (extra: Record<string, string>): Record<string, string> => ({ 'root-ca.pem': readFileSync(join(TRUST, 'root-ca.pem'), 'utf8'), ...extra })
  const cases: { name: string, files?: Record<string, string>, names: string, message: RegExp }[] = [
    { name: 'missing directory', names: 'missing', message: /^cannot read trust store directory .*missing: ENOENT/ },
    {
      name: 'no anchor, only the intermediate',
      files: { 'issuing-ca.pem': readFileSync(join(TRUST, 'issuing-ca.pem'), 'utf8'), 'issuing-ca.crl.pem': readFileSync(join(TRUST, 'issuing-ca.crl.pem'), 'utf8') },
      names: 'no-anchor',
      message: /^trust store .*no-anchor holds no trust anchor/
    },
    {
      name: 'a private key',
      files: withRoot({ 'g22-key.pem': readFileSync(join(PKI, 'agencies', '000.00.00.G22', 'key.pem'), 'utf8') }),
      names: 'private-key/g22-key.pem',
      message: /unexpected PEM block "PRIVATE KEY"/
    },
    {
      name: 'a non-CA (agency) certificate',
      files: withRoot({ 'g22.pem': readFileSync(join(PKI, 'agencies', '000.00.00.G22', 'cert.pem'), 'utf8') }),
      names: 'non-ca/g22.pem',
      message: /UID=000\.00\.00\.G22 is not a CA certificate/,
    },
    {
      name: 'a garbage certificate PEM',
      files: withRoot({ 'garbage.pem': pem('CERTIFICATE', Buffer.from('this is not DER').toString('base64')) }),
      names: 'garbage/garbage.pem',
      message: /cannot decode CERTIFICATE/
    },
    {
      name: 'a garbage CRL PEM',
      files: withRoot({ 'garbage.crl': pem('X509 CRL', Buffer.from('nor is this').toString('base64')) }),
      names: 'garbage-crl/garbage.crl',
      message: /cannot decode X509 CRL/
    },
    {
      name: 'a .pem file without any PEM block',
      files: withRoot({ 'notes.pem': 'copied from the portal, see mail\n' }),
      names: 'no-block/notes.pem',
      message: /no PEM block found/
    }
  ]
  for (const c of cases) {
    const caseDir = c.names.split('/')[0] as string
    const dir = join(base, caseDir)
    if (c.files != null) {
      mkdirSync(dir)
      for (const [name, content] of Object.entries(c.files)) writeFileSync(join(dir, name), content)
    }
    const err = await TrustStore.load(dir).then(() => undefined, (e: unknown) => e)
    t.type(err, TrustStoreError, `${c.name}: TrustStoreError`)
    const message = (err as Error | undefined)?.message ?? ''
    t.match(message, join(base, c.names), `${c.name}: names ${c.names}`)
    t.match(message, c.message, `${c.name}: says what is wrong`)
    t.notMatch(message, /\n/, `${c.name}: one line (the CLI prints it as is)`)
  }
})

t.test('reload(): a new store; after the CRL goes stale on disk, a cached acceptance does not leak through', async (t) => {
  const dir = t.testdir()
  for (const name of readdirSync(TRUST)) copyFileSync(join(TRUST, name), join(dir, name))
  const registry = await AgencyRegistry.load(join(PKI, 'registry.json'))
  const document = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'))
  const now = new Date()
  const verifyWith = async (store: TrustStore): Promise<string> => {
    const verdict = await verifyDocument(document, { ...defaultPolicy(store, registry), now: () => now })
    return verdict.verdict === 'accepted' ? 'accepted' : verdict.code
  }

  const before = await TrustStore.load(dir)
  t.equal(await verifyWith(before), 'accepted', 'accepted with the fresh CRLs')
  t.equal(await verifyWith(before), 'accepted', 'and again (now from the path-validation cache)')

  // The operator's CRL update goes wrong: an old CRL replaces the current one.
  rmSync(join(dir, 'issuing-ca.crl.pem'))
  for (const name of readdirSync(STALE)) copyFileSync(join(STALE, name), join(dir, name))
  const after = await before.reload()
  t.not(after, before, 'a new store object')
  t.ok(after.generation > before.generation, `generation ${after.generation} > ${before.generation}`)
  t.equal(after.dir, before.dir)
  t.equal(after.crls.find((c) => c.issuer === ISSUING_CN)?.crlNumber, '0', 'the new store holds the stale CRL')
  t.equal(before.crls.find((c) => c.issuer === ISSUING_CN)?.crlNumber, '1', 'the old store is unchanged (a snapshot)')

  t.equal(await verifyWith(after), 'REVOCATION_UNAVAILABLE', 'the same document, the same instant, the reloaded store')
  t.equal(await verifyWith(before), 'accepted', 'a verification still holding the old store keeps its answer')
})
