import t from 'tap'
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as pkijs from 'pkijs'
import { DirectoryNotEmptyError, MissingCaKeyError, issueExampleHub } from '../../src/pki/example-pki.js'
import { childEnv, runCli } from '../helpers/cli.js'
import { PKI } from '../helpers/example-pki.js'

// issue-hub works on the committed certs-example: a copy of what it reads (trust/ and ca/) is enough,
// and it proves the committed CA key is the key of the committed issuing CA.
const base = t.testdir()
function pkiCopy (): string {
  const dir = mkdtempSync(join(base, 'pki-'))
  for (const sub of ['trust', 'ca', 'hub']) cpSync(join(PKI, sub), join(dir, sub), { recursive: true })
  return dir
}

const DAY = 86_400_000
const issuing = new X509Certificate(readFileSync(join(PKI, 'trust', 'issuing-ca.pem')))
const root = new X509Certificate(readFileSync(join(PKI, 'trust', 'root-ca.pem')))
const pkijsCert = (c: X509Certificate): pkijs.Certificate => pkijs.Certificate.fromBER(Uint8Array.from(c.raw).buffer)
const pem = (dir: string, path: string): X509Certificate => new X509Certificate(readFileSync(join(dir, path)))

async function chainsToRoot (leaf: X509Certificate, at: Date): Promise<boolean> {
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: [pkijsCert(root)],
    certs: [pkijsCert(issuing), pkijsCert(leaf)],
    checkDate: at
  })
  return (await engine.verify({}, new pkijs.CryptoEngine({ name: 'test', crypto: webcrypto as unknown as Crypto }))).result
}

t.test('issues hubs/<id>/ under the committed issuing CA', async (t) => {
  const dir = pkiCopy()
  const now = new Date()
  const { hub, files } = await issueExampleHub(dir, 'hub-4', { now })
  t.same(hub, { id: 'hub-4', dir: 'hubs/hub-4', uid: '000.00.00.HUB4', name: 'Hệ thống liên thông văn bản (ví dụ) hub-4' })
  t.same(files.map((f) => f.path), ['hubs/hub-4/signing-key.pem', 'hubs/hub-4/signing-cert.pem', 'hubs/hub-4/tls-key.pem', 'hubs/hub-4/tls-cert.pem'])
  t.same(readdirSync(join(dir, 'hubs', 'hub-4')).sort(), ['signing-cert.pem', 'signing-key.pem', 'tls-cert.pem', 'tls-key.pem'])
  t.equal(statSync(join(dir, 'hubs/hub-4/signing-key.pem')).mode & 0o777, 0o600, 'private keys owner-only')

  const signing = pem(dir, 'hubs/hub-4/signing-cert.pem')
  const tls = pem(dir, 'hubs/hub-4/tls-cert.pem')
  for (const [what, c, key] of [['signing', signing, 'signing-key.pem'], ['TLS', tls, 'tls-key.pem']] as const) {
    t.ok(c.checkIssued(issuing) && c.verify(issuing.publicKey), `${what} certificate signed by the committed issuing CA`)
    t.ok(await chainsToRoot(c, now), `${what} certificate validates to the committed root`)
    t.ok(c.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'hubs/hub-4', key)))), `${what} key matches`)
  }
  t.match(signing.subject, /\nUID=000\.00\.00\.HUB4$/)
  t.equal(tls.checkIP('127.0.0.1'), '127.0.0.1')
  t.same([...(tls.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'])
  t.ok(Math.abs(new Date(signing.validTo).getTime() - (now.getTime() + 5 * 365 * DAY)) < 2 * DAY, 'valid 5 years')
})

t.test('never valid past the issuing CA', async (t) => {
  const dir = pkiCopy()
  // 12 years on, 5 more years would outlive the issuing CA (15 years).
  const now = new Date(new Date(issuing.validTo).getTime() - 3 * 365 * DAY)
  await issueExampleHub(dir, 'hub-5', { now })
  t.equal(new Date(pem(dir, 'hubs/hub-5/tls-cert.pem').validTo).getTime(), new Date(issuing.validTo).getTime())
})

t.test('refusals', async (t) => {
  const dir = pkiCopy()
  const cases: Array<[string, () => Promise<unknown>, RegExp | (new (...a: never[]) => Error)]> = [
    ['hub 1 exists already', async () => await issueExampleHub(dir, 'hub'), DirectoryNotEmptyError],
    ['bad id', async () => await issueExampleHub(dir, 'Hub_4'), /bad hub id "Hub_4"/],
    ['no CA key (a PKI made before ca/ existed)', async () => {
      const old = mkdtempSync(join(base, 'old-'))
      cpSync(join(PKI, 'trust'), join(old, 'trust'), { recursive: true })
      return await issueExampleHub(old, 'hub-4')
    }, MissingCaKeyError],
    ['a CA key of another PKI', async () => {
      const other = pkiCopy()
      writeFileSync(join(other, 'ca', 'issuing-ca.key.pem'), readFileSync(join(PKI, 'agencies', '000.00.00.G22', 'key.pem')))
      return await issueExampleHub(other, 'hub-4')
    }, /issuing-ca\.key\.pem is not the key of .*issuing-ca\.pem/]
  ]
  for (const [what, run, expected] of cases) {
    if (expected instanceof RegExp) await t.rejects(run(), { message: expected }, what)
    else await t.rejects(run(), expected, what)
  }
  t.notOk(readdirSync(dir).includes('hubs'), 'nothing written')
})

t.test('lienthong pki issue-hub DIR --id ID', async (t) => {
  const dir = pkiCopy()
  const run = await runCli(['pki', 'issue-hub', dir, '--id', 'hub-6'], childEnv())
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, `Hub hub-6 issued into ${join(dir, 'hubs', 'hub-6')} (NOT FOR PRODUCTION), signing certificate UID=000.00.00.HUB6`)
  t.ok(pem(dir, 'hubs/hub-6/signing-cert.pem').checkIssued(issuing))
  const again = await runCli(['pki', 'issue-hub', dir, '--id', 'hub-6'], childEnv())
  t.equal(again.code, 2, 'an existing hub is refused')
  t.equal(again.stderr, `lienthong: ${join(dir, 'hubs', 'hub-6')} is not empty; refusing to write the example PKI into it (--force overwrites)\n`)
})
