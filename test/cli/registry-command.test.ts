import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { runCli } from '../helpers/cli.js'
import { testDatabase } from '../helpers/database.js'
import { PKI } from '../helpers/example-pki.js'
import { databaseUrlOf, lienthongEnv } from '../helpers/hub-process.js'

// `lienthong agency add|update|cert-add|cert-revoke|list`, `trust add|list` and `registry export`
// as an operator runs them against the hub's database: each change lands in the rows and the audit
// trail (cli:<os user>), refusals exit 2 with their sentence, and the export loads as a registry.

t.setTimeout(600_000)

const NEW = '000.00.00.X77'
const UNTRUSTED = join(PKI, 'special', 'untrusted')

t.test('agency and trust commands change the database; registry export writes it back as a file', async (t) => {
  const db = await testDatabase(t)
  const env = lienthongEnv({ DATABASE_URL: databaseUrlOf(db), LIENTHONG_REGISTRY: join(PKI, 'registry.json') })
  const run = async (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> => await runCli(args, env)

  const added = await run('agency', 'add', NEW, '--name', 'Sở Thử nghiệm', '--cert', join(UNTRUSTED, 'cert.pem'), '--subject-rule', 'O=Sở Thử nghiệm')
  t.equal(added.code, 0, added.stderr)
  t.match(added.stdout, `created agency ${NEW} (pull, 1 signing certificate(s))`)
  const again = await run('agency', 'add', NEW.toLowerCase(), '--name', 'look-alike')
  t.match([again.code, again.stderr], [2, /already exists/], 'a code taken (up to letter case): exit 2')

  const caAsSigner = await run('agency', 'cert-add', NEW, join(UNTRUSTED, 'root-ca.pem'))
  t.match([caAsSigner.code, caAsSigner.stderr], [2, /CA certificate never signs/], 'a CA certificate is no signing certificate')

  const updated = await run('agency', 'update', '000.00.00.G12', '--name', 'Bộ Tài chính (mới)', '--allow-weak')
  t.equal(updated.code, 0, updated.stderr)
  const listed = JSON.parse((await run('agency', 'list', '--json')).stdout) as Array<{ code: string, name: string, managedBy: string, allowWeakAlgorithms: boolean, signingCertificates: Array<{ fingerprint: string, revokedAt: string | null }> }>
  t.match(listed.find((a) => a.code === '000.00.00.G12'), { name: 'Bộ Tài chính (mới)', managedBy: 'admin', allowWeakAlgorithms: true })
  t.match(listed.find((a) => a.code === '000.00.00.H41'), { managedBy: 'file' })
  const fp = listed.find((a) => a.code === NEW)?.signingCertificates[0]?.fingerprint as string
  t.match(fp, /^[0-9a-f]{64}$/)

  const revoked = await run('agency', 'cert-revoke', NEW, fp)
  t.equal(revoked.code, 0, revoked.stderr)
  const twice = await run('agency', 'cert-revoke', NEW, fp)
  t.match([twice.code, twice.stderr], [2, /no live signing certificate/])
  const text = (await run('agency', 'list')).stdout
  t.match(text, new RegExp(`${NEW.replaceAll('.', '\\.')}\\tSở Thử nghiệm\\tpull\\tadmin\\t0 certificate\\(s\\) \\(\\+1 revoked\\) \\+ subject rule`))

  const anchor = await run('trust', 'add', join(UNTRUSTED, 'root-ca.pem'))
  t.match([anchor.code, anchor.stdout], [0, /^added anchor .*Untrusted Example Root/], anchor.stderr)
  const leaf = await run('trust', 'add', join(UNTRUSTED, 'cert.pem'))
  t.match([leaf.code, leaf.stderr], [2, /not a CA certificate/])
  const trust = await run('trust', 'list')
  t.match(trust.stdout, /^anchor\t.*Untrusted Example Root.*\tdatabase:[0-9a-f]{64}$/m)
  t.match(trust.stdout, /^crl\t.*fresh/m)

  const out = join(t.testdir(), 'registry.json')
  const exported = await run('registry', 'export', '--out', out)
  t.equal(exported.code, 0, exported.stderr)
  const registry = AgencyRegistry.fromJson(JSON.parse(readFileSync(out, 'utf8')), out)
  t.equal(registry.get('000.00.00.G12')?.name, 'Bộ Tài chính (mới)', 'the admin change is in the file')
  t.same(registry.get(NEW)?.certificates, [], 'the revoked certificate is not')
  t.same(registry.get(NEW)?.subjectRule, { O: 'Sở Thử nghiệm' })
  t.equal(registry.all().length, 5)

  const { rows } = await db.query<{ action: string, actor: string }>("SELECT action, actor FROM admin_audit WHERE actor LIKE 'cli:%' ORDER BY id")
  t.same(rows.map((r) => r.action), ['agency.create', 'agency.update', 'agency.signing_cert_revoke', 'trust.anchor_add'], 'every change audited, refusals not')
})
