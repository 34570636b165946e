import t from 'tap'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLI, childEnv, untracked } from '../helpers/cli.js'
import { FIXTURES, PKI, ROOT } from '../helpers/example-pki.js'

// Exactly what the README tells a newcomer, as real processes: make an own example PKI, sign a
// template with one of its agencies, verify it against that PKI. Then the same signed file against
// the committed certs-example/ trust, which must refuse it: nothing is hard-wired to the
// committed PKI.

interface Run { code: number | null, stdout: string, stderr: string }

function lienthong (...args: string[]): Promise<Run> {
  const env = childEnv()
  delete env.LIENTHONG_TRUST_DIR
  delete env.LIENTHONG_REGISTRY
  return new Promise((resolve) => {
    execFile(...untracked(process.execPath, [CLI, ...args]), { cwd: ROOT, env, encoding: 'utf8', timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '')
const tmp = t.testdir({ 'not-empty': { 'keep.txt': 'operator data\n' } })
const DIR = join(tmp, 'pki')
const NOT_EMPTY = join(tmp, 'not-empty')
const OUT = join(tmp, 'signed.edxml')
const TEMPLATE = join(FIXTURES, 'templates', 'document-one-recipient.edxml')
const G22 = join(DIR, 'agencies', '000.00.00.G22')

// pki init is the slow step (RSA key generation); the refusal case runs alongside it.
const init = lienthong('pki', 'init', DIR)
const refused = lienthong('pki', 'init', NOT_EMPTY)

t.test('pki init DIR: a complete example PKI', async (t) => {
  const run = await init
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, `Example PKI written to ${DIR} (NOT FOR PRODUCTION`)
  t.match(run.stdout, `trust dir: ${join(DIR, 'trust')}`)
  t.match(run.stdout, `registry:  ${join(DIR, 'registry.json')}`)
  t.same(readdirSync(join(DIR, 'trust')).sort(), ['issuing-ca.crl.pem', 'issuing-ca.pem', 'root-ca.crl.pem', 'root-ca.pem'])
  t.same(readdirSync(G22).sort(), ['cert.pem', 'chain.pem', 'key.pem'])
  t.not(readFileSync(join(DIR, 'trust', 'root-ca.pem'), 'utf8'), readFileSync(join(PKI, 'trust', 'root-ca.pem'), 'utf8'), 'a new root, not a copy of certs-example')
})

t.test('sign with the new G22 key, verify against the new trust and registry', async (t) => {
  if ((await init).code !== 0) return t.fail('pki init failed; nothing to sign with')
  const sign = await lienthong('sign', '--key', join(G22, 'key.pem'), '--cert', join(G22, 'cert.pem'), '--chain', join(G22, 'chain.pem'), TEMPLATE, OUT)
  t.equal(sign.code, 0, sign.stderr)
  t.equal(sign.stdout, '')
  t.equal(sign.stderr, `signed ${TEMPLATE} -> ${OUT} (rsa-sha256, exc)\n`)
  if (sign.code !== 0) return

  const [own, committed] = await Promise.all([
    lienthong('verify', '--trust', join(DIR, 'trust'), '--registry', join(DIR, 'registry.json'), OUT),
    lienthong('verify', '--trust', join(PKI, 'trust'), '--registry', join(PKI, 'registry.json'), '--json', OUT)
  ])

  t.equal(own.code, 0, `own PKI: exit 0 ${own.stdout}${own.stderr}`)
  t.equal(lines(own.stdout).length, 1)
  t.match(own.stdout, new RegExp(`^${OUT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ACCEPTED document from 000\\.00\\.00\\.G22 to 000\\.00\\.00\\.G12, signed by .*UID=000\\.00\\.00\\.G22 \\(rsa-sha256\\)\\n$`))

  t.equal(committed.code, 1, 'committed certs-example trust: exit 1')
  const v = JSON.parse(lines(committed.stdout)[0] ?? '{}') as { verdict?: string, code?: string }
  t.equal(v.verdict, 'rejected')
  t.equal(v.code, 'CERT_UNTRUSTED', 'another PKI: the signer does not chain to the committed anchors')
})

t.test('pki init into a non-empty dir without --force: refused in one line, nothing written', async (t) => {
  const run = await refused
  t.not(run.code, 0, 'non-zero exit')
  t.equal(run.code, 2, 'operator error')
  t.equal(run.stdout, '')
  const err = lines(run.stderr)
  t.equal(err.length, 1, `one line on stderr: ${JSON.stringify(run.stderr)}`)
  t.equal(err[0], `lienthong: ${NOT_EMPTY} is not empty; refusing to write the example PKI into it (--force overwrites)`)
  t.same(readdirSync(NOT_EMPTY), ['keep.txt'], 'the directory is untouched')
  t.equal(readFileSync(join(NOT_EMPTY, 'keep.txt'), 'utf8'), 'operator data\n')
})
