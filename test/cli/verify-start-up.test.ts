import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI, DIST, childEnv } from '../helpers/cli.js'
import { FIXTURES, PKI, ROOT } from '../helpers/example-pki.js'

// `lienthong verify` answers quickly because it loads only what verification needs, from one
// bundled file (issue 15: under 200 ms for a small file). Timings are not asserted (the machine is
// shared): what is checked is the list of modules the process resolved, recorded by a loader hook,
// and what went into the bundle (dist/verify-cli.meta.json, written by `npm run build`).

const RECORDER = join(ROOT, 'test', 'helpers', 'module-load-recorder.mjs')
const DOCUMENT = join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml')

/** Packages a hub process needs and an offline command must not load. */
const SERVER_PACKAGES = ['fastify', 'bullmq', 'ioredis', 'pg', '@electric-sql/pglite', 'piscina', 'pino', 'prom-client']

interface Loaded { code: number | null, stdout: string, packages: Set<string>, ownModules: string[] }

function packagesOf (paths: string[]): Set<string> {
  return new Set(paths.flatMap((u) => {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)
    return m?.[1] != null ? [m[1]] : []
  }))
}

async function runRecorded (args: string[]): Promise<Loaded> {
  const dir = mkdtempSync(join(tmpdir(), 'lienthong-modules-'))
  const log = join(dir, 'modules.txt')
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const env = childEnv({ LIENTHONG_MODULE_LOG: log })
  delete env.LIENTHONG_TRUST_DIR
  delete env.LIENTHONG_REGISTRY
  const { code, stdout } = await new Promise<{ code: number | null, stdout: string }>((resolve) => {
    execFile(process.execPath, ['--import', RECORDER, CLI, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 }, (err, stdout) => {
      resolve({ code: err == null ? 0 : typeof err.code === 'number' ? err.code : null, stdout })
    })
  })
  const urls = readFileSync(log, 'utf8').split('\n').filter((u) => u !== '')
  const packages = packagesOf(urls)
  const ownModules = urls.filter((u) => u.includes('/dist/') && !u.includes('/node_modules/')).map((u) => u.slice(u.indexOf('/dist/') + 6))
  return { code, stdout, packages, ownModules }
}

t.test('lienthong verify runs from its bundle, which holds no server package and no other command', async (t) => {
  const run = await runRecorded(['verify', '--trust', join(PKI, 'trust'), '--registry', join(PKI, 'registry.json'), DOCUMENT])
  t.equal(run.code, 0, 'the document verifies')
  t.match(run.stdout, /ACCEPTED document from 000\.00\.00\.G22/)
  t.ok(run.ownModules.length > 0, 'the recorder did see the modules the process loaded')
  t.same(run.ownModules, ['cli/main.js', 'verify-cli.js'], 'the entry, then the bundle: no module of dist/ loaded one by one')
  t.same([...run.packages], [], 'no package loaded from node_modules: all is in the bundle')

  const inputs = (JSON.parse(readFileSync(join(DIST, 'verify-cli.meta.json'), 'utf8')) as { inputs: string[] }).inputs
  const bundled = packagesOf(inputs.map((i) => `/${i}`))
  t.ok(bundled.has('commander'), 'the metafile does list the packages bundled')
  for (const name of SERVER_PACKAGES) t.notOk(bundled.has(name), `${name} is not in the bundle`)
  const commands = inputs.filter((m) => m.startsWith('src/cli/') && m.endsWith('-command.ts'))
  t.same(commands, ['src/cli/verify-command.ts'], 'only the verify command\'s file')
  t.notOk(inputs.some((m) => /^src\/(gateway|db|queue)\//.test(m)), 'nothing of the gateway, database or queue')
})

t.test('lienthong --help still lists every command (it loads them all)', async (t) => {
  const run = await runRecorded(['--help'])
  t.equal(run.code, 0)
  for (const name of ['start', 'serve', 'worker', 'delivery', 'verify', 'sign', 'pki', 'agency', 'audit', 'receipt', 'retention', 'vdxp-system', 'demo']) {
    t.match(run.stdout, new RegExp(`^  ${name} `, 'm'), `${name} is listed`)
  }
})
