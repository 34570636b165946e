import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { PGlite } from '@electric-sql/pglite'
import { pg_trgm as pgTrgm } from '@electric-sql/pglite/contrib/pg_trgm'
import { childEnv, DIST } from '../helpers/cli.js'
import { ROOT } from '../helpers/example-pki.js'
import { lienthongEnv } from '../helpers/hub-process.js'

// TEST_PGLITE_TEMPLATE seeds a new embedded database from a tarball (src/db/pglite-database.ts).
// It must work in the processes a test starts (the hubs) and nowhere else: a production hub that
// finds it in its environment must initialise its database itself. Shown with a template that
// carries a marker table no migration makes, opened by the compiled hub's own openHubDatabase()
// (what `lienthong start` calls) in a child process, with and without tap's TAP=1.

const run = promisify(execFile)

/** A child process of the compiled hub code: opens (creates) the embedded database under `dataDir` and says whether the marker is there. */
async function openInChild (dataDir: string, env: NodeJS.ProcessEnv): Promise<{ marked: boolean, migrated: number }> {
  const script = `
    const { openHubDatabase } = await import(${JSON.stringify(join(DIST, 'hub', 'open-database.js'))})
    const db = await openHubDatabase(undefined, ${JSON.stringify(dataDir)})
    const marker = await db.query("SELECT to_regclass('template_marker') IS NOT NULL AS marked")
    const migrated = await db.query('SELECT count(*)::int AS n FROM schema_migrations')
    await db.close()
    process.stdout.write(JSON.stringify({ marked: marker.rows[0].marked, migrated: migrated.rows[0].n }))
  `
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env })
  return JSON.parse(stdout) as { marked: boolean, migrated: number }
}

t.test('a hub honours TEST_PGLITE_TEMPLATE only under tap (TAP=1)', async (t) => {
  const dir = t.testdir()
  // The marker template: the run's template (migrated, scripts/pglite-template.js) plus one table
  // no migration makes. Started from the run's template rather than by initdb: 4.4 s of CPU less.
  const runTemplate = process.env.TEST_PGLITE_TEMPLATE
  const seed = await PGlite.create({ extensions: { pg_trgm: pgTrgm }, ...(runTemplate != null ? { loadDataDir: new Blob([await readFile(runTemplate)]) } : {}) })
  await seed.exec('CREATE TABLE template_marker (x int)')
  const template = join(dir, 'marker-template.tar')
  await writeFile(template, Buffer.from(await (await seed.dumpDataDir('none')).arrayBuffer()))
  await seed.close()

  const underTap = await openInChild(join(dir, 'under-tap'), childEnv({ TAP: '1', TEST_PGLITE_TEMPLATE: template }))
  t.equal(underTap.marked, true, 'a process with TAP=1 starts its new database from the template')
  const migrations = (await readdir(join(DIST, 'db', 'migrations'))).filter((f) => f.endsWith('.sql')).length
  t.equal(underTap.migrated, migrations, 'and has every migration applied')

  const production = childEnv({ TEST_PGLITE_TEMPLATE: template })
  delete production.TAP
  const hub = await openInChild(join(dir, 'production'), production)
  t.equal(hub.marked, false, 'a hub without TAP=1 ignores the template and runs initdb itself')
  t.equal(hub.migrated, migrations, 'and is migrated all the same')
})

t.test('the environment of the hubs the tests start carries TAP=1', async (t) => {
  // tap sets TAP=1 in this process; lienthongEnv (test/helpers/hub-process.ts) and childEnv
  // (test/helpers/cli.ts) build every hub's and CLI's environment from it.
  t.equal(process.env.TAP, '1')
  t.equal(lienthongEnv({}).TAP, '1')
  t.equal(childEnv().TAP, '1')
})
