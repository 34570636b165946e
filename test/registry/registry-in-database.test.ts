import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createAgency, updateAgency } from '../../src/admin/agency-admin.js'
import { openRevocationSync } from '../../src/hub/revocation-sync.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { registryVersion, storedAgencies } from '../../src/registry/registry-db.js'
import { exportRegistry } from '../../src/registry/registry-export.js'
import type { RegistryFile } from '../../src/registry/registry-format.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { TEST_ACTOR } from '../helpers/accounts.js'
import { testDatabase } from '../helpers/database.js'
import { PKI } from '../helpers/example-pki.js'

// Precedence between the registry file and the rows (docs/agency-registry.md, "Registry in the
// database"): the file seeds and keeps rewriting the agencies no admin touched; an admin's change
// makes the row rule; the export writes the rows back. And the version the processes poll moves
// with a change only.

const H41 = '000.00.00.H41'
const G12 = '000.00.00.G12'
const NEW = '000.00.00.X77'
const HOUR = 3_600_000

t.test('the file seeds; file-managed rows follow the file; admin-managed rows ignore it; export writes the rows back', async (t) => {
  const db = await testDatabase(t)
  const dir = t.testdir()
  const file = join(dir, 'registry.json')
  const original = JSON.parse(readFileSync(join(PKI, 'registry.json'), 'utf8')) as RegistryFile
  // Each edit applies on top of the previous ones, as an operator edits the file.
  const current = structuredClone(original)
  const write = (edit: (r: RegistryFile) => void): AgencyRegistry => {
    edit(current)
    writeFileSync(file, JSON.stringify(current))
    return AgencyRegistry.fromJson(current, file)
  }
  const row = async (code: string): Promise<{ name: string, managedBy: string, live: string[] }> => {
    const [a] = await storedAgencies(db, code)
    if (a == null) throw new Error(`no ${code}`)
    return { name: a.entry.name, managedBy: a.managedBy, live: [...a.entry.certificates].sort() }
  }
  const h41File = [...original.agencies.find((a) => a.code === H41)?.certificates ?? []].sort()

  t.equal(await syncAgencies(db, write(() => {})), 4, 'first start: the four demo agencies seeded')
  t.same(await row(H41), { name: 'Ủy ban nhân dân tỉnh Nghệ An', managedBy: 'file', live: h41File })
  const seeded = await registryVersion(db)
  await syncAgencies(db, write(() => {}))
  t.equal(await registryVersion(db), seeded, 'an unchanged file writes nothing: the version stays (no reload anywhere)')

  // The file changes an agency no admin touched: the row follows, a removed fingerprint is revoked.
  await syncAgencies(db, write((r) => {
    const h41 = r.agencies.find((a) => a.code === H41) as RegistryFile['agencies'][number]
    h41.name = 'UBND tỉnh Nghệ An'
    h41.certificates = h41File.slice(0, 1)
  }))
  t.same(await row(H41), { name: 'UBND tỉnh Nghệ An', managedBy: 'file', live: h41File.slice(0, 1) })
  t.not(await registryVersion(db), seeded, 'the change moved the version')

  // An admin changes G12 and creates X77: the file no longer rules G12.
  await updateAgency(db, TEST_ACTOR, G12, { name: 'Bộ Tài chính (admin)' })
  await createAgency(db, TEST_ACTOR, { code: NEW, name: 'Sở Thử nghiệm', delivery: { mode: 'pull' }, subjectRule: { UID: NEW } })
  await syncAgencies(db, write((r) => {
    const g12 = r.agencies.find((a) => a.code === G12) as RegistryFile['agencies'][number]
    g12.name = 'Bộ Tài chính (file)'
    g12.certificates = []
    g12.subjectRule = { UID: G12 }
  }))
  const g12 = await row(G12)
  t.same(g12, { name: 'Bộ Tài chính (admin)', managedBy: 'admin', live: [...original.agencies.find((a) => a.code === G12)?.certificates ?? []].sort() }, 'admin-managed: the file\'s edit is ignored')
  t.match(await row(NEW), { managedBy: 'admin', name: 'Sở Thử nghiệm' }, 'an agency the file does not list stays')

  // What the processes load: the rows, over the file's peer agencies and routing.
  const sync = await openRevocationSync({ db, trustDir: join(PKI, 'trust'), registryFile: file, pollMs: HOUR })
  t.teardown(() => sync.close())
  t.equal(sync.registry()?.get(G12)?.name, 'Bộ Tài chính (admin)')
  t.same(sync.registry()?.get(NEW)?.subjectRule, { UID: NEW })
  t.same(sync.workerInputs().agencies?.map((a) => a.code).sort(), ['000.00.00.G12', '000.00.00.G22', '000.00.00.H29', H41, NEW])
  t.equal(await sync.check(), false, 'nothing changed since it loaded')
  await updateAgency(db, TEST_ACTOR, NEW, { name: 'Sở Thử nghiệm 2' })
  t.equal(await sync.check(), true, 'a change is seen at the next poll')
  t.equal(sync.registry()?.get(NEW)?.name, 'Sở Thử nghiệm 2')

  const { registry: exported, warnings } = await exportRegistry(db, JSON.parse(readFileSync(file, 'utf8')) as RegistryFile)
  t.same(warnings, [])
  const reloaded = AgencyRegistry.fromJson(exported, 'export')
  t.equal(reloaded.get(G12)?.name, 'Bộ Tài chính (admin)')
  t.same(reloaded.get(H41)?.certificates, h41File.slice(0, 1), 'revoked fingerprints are not exported')
  t.equal(reloaded.get(NEW)?.name, 'Sở Thử nghiệm 2')
})
