import t from 'tap'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI, DIST, childEnv, untracked } from '../helpers/cli.js'
import { FIXTURES, PKI, ROOT } from '../helpers/example-pki.js'

// `lienthong verify` answers quickly because it loads only what verification needs, from one
// bundled file compiled with the V8 code cache the build wrote (issue 15: under 200 ms for a small
// file; bench/verify/cli-start.ts measures it). Timings are not asserted (the machine is shared):
// what is checked is the list of modules the process resolved, recorded by a loader hook, what
// went into the bundle (dist/verify-cli.meta.json, written by `npm run build`), that V8 takes the
// cache, and that a cache of another bundle or one V8 refuses is never what runs.

const RECORDER = join(ROOT, 'test', 'helpers', 'module-load-recorder.mjs')
const DOCUMENT = join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml')
const REVOKED = join(FIXTURES, 'signatures', 'invalid', 'CERT_REVOKED.revoked-certificate.edxml')
const BIN = join(ROOT, 'bin', 'lienthong.js')
const PKI_ARGS = ['--trust', join(PKI, 'trust'), '--registry', join(PKI, 'registry.json')]

/** Packages a hub process needs and an offline command must not load. */
const SERVER_PACKAGES = ['fastify', 'bullmq', 'ioredis', 'pg', '@electric-sql/pglite', 'piscina', 'pino', 'prom-client']

interface Loaded { code: number | null, stdout: string, packages: Set<string>, ownModules: string[] }

function packagesOf (paths: string[]): Set<string> {
  return new Set(paths.flatMap((u) => {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)
    return m?.[1] != null ? [m[1]] : []
  }))
}

async function runRecorded (args: string[], entry = CLI): Promise<Loaded> {
  const dir = mkdtempSync(join(tmpdir(), 'lienthong-modules-'))
  const log = join(dir, 'modules.txt')
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const env = childEnv({ LIENTHONG_MODULE_LOG: log })
  delete env.LIENTHONG_TRUST_DIR
  delete env.LIENTHONG_REGISTRY
  const { code, stdout } = await new Promise<{ code: number | null, stdout: string }>((resolve) => {
    execFile(...untracked(process.execPath, ['--import', RECORDER, entry, ...args]), { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 }, (err, stdout) => {
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
  t.same(run.ownModules, ['cli/main.js', 'cli/verify-bundle.js'], 'the entry, then the bundle\'s loader: no module of dist/ loaded one by one')
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

t.test('bin/lienthong.js verify goes straight to the bundle: exit 0 accepted, 1 rejected, --json', async (t) => {
  const accepted = await runRecorded(['verify', ...PKI_ARGS, DOCUMENT], BIN)
  t.equal(accepted.code, 0, 'accepted: exit 0')
  t.match(accepted.stdout, /ACCEPTED document from 000\.00\.00\.G22/)
  t.same(accepted.ownModules, ['cli/verify-bundle.js'], 'not even dist/cli/main.js: the loader alone')
  t.same([...accepted.packages], [])

  const rejected = await runRecorded(['verify', '--json', ...PKI_ARGS, DOCUMENT, REVOKED], BIN)
  t.equal(rejected.code, 1, 'one file rejected: exit 1')
  const verdicts = rejected.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { file: string, verdict: string, code: string | null })
  t.same(verdicts.map((v) => [v.file, v.verdict, v.code]), [[DOCUMENT, 'accepted', null], [REVOKED, 'rejected', 'CERT_REVOKED']])

  const usage = await runRecorded(['verify'], BIN)
  t.equal(usage.code, 2, 'no file named: a usage error, exit 2')
})

interface BundleRun { code: number | null, stdout: string, cache: string }

/** Compiles the bundle of `dist` with the loader of the build under test, says how the cache went, runs `verify args`. */
async function runBundleIn (dist: string, args: string[]): Promise<BundleRun> {
  const script = `import { loadVerifyBundle } from ${JSON.stringify(join(DIST, 'cli', 'verify-bundle.js'))}
const bundle = loadVerifyBundle(${JSON.stringify(dist)})
process.stderr.write('cache:' + bundle.cache + '\\n')
process.argv = [process.argv[0], 'lienthong', 'verify', ...${JSON.stringify(args)}]
await bundle.run()`
  return await new Promise((resolve) => {
    execFile(...untracked(process.execPath, ['--input-type=module', '-e', script]), { cwd: ROOT, env: childEnv(), encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, cache: /^cache:(.*)$/m.exec(stderr)?.[1] ?? stderr })
    })
  })
}

t.test('the build\'s code cache is taken by V8, and belongs to the bundle it names', async (t) => {
  const run = await runBundleIn(DIST, [...PKI_ARGS, DOCUMENT])
  t.equal(run.cache, 'accepted', 'V8 takes the cache npm run build wrote')
  t.equal(run.code, 0)
  const bundleId = readFileSync(join(DIST, 'verify-cli.cjs'), 'utf8').split('\n')[0] as string
  t.match(bundleId, /^\/\/ lienthong-verify-bundle sha256:[0-9a-f]{64}$/, 'the bundle names itself')
  t.equal(readFileSync(join(DIST, 'verify-cli.cache')).subarray(0, bundleId.length + 1).toString(), bundleId + '\n', 'the cache starts with that name')
})

t.test('a cache of another bundle, or one V8 refuses, is not used: the bundle compiles from source and answers the same', async (t) => {
  // A package root of its own: the bundle finds schemas/ beside its dist/.
  const root = t.testdir()
  const dist = join(root, 'dist')
  mkdirSync(dist)
  symlinkSync(join(ROOT, 'schemas'), join(root, 'schemas'))
  copyFileSync(join(DIST, 'verify-cli.cjs'), join(dist, 'verify-cli.cjs'))
  const real = readFileSync(join(DIST, 'verify-cli.cache'))
  const header = real.indexOf(0x0a) + 1

  // The real bytecode under another bundle's name: the name decides, before V8 sees anything.
  writeFileSync(join(dist, 'verify-cli.cache'), Buffer.concat([Buffer.from(`// lienthong-verify-bundle sha256:${'0'.repeat(64)}\n`), real.subarray(header)]))
  const other = await runBundleIn(dist, ['--json', ...PKI_ARGS, DOCUMENT, REVOKED])
  t.equal(other.cache, 'other-bundle')
  t.equal(other.code, 1)
  t.same(other.stdout.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { code: string | null }).code), [null, 'CERT_REVOKED'])

  // The right name over bytes that are no code cache: V8 refuses them.
  writeFileSync(join(dist, 'verify-cli.cache'), Buffer.concat([real.subarray(0, header), Buffer.alloc(4096, 7)]))
  const refused = await runBundleIn(dist, [...PKI_ARGS, DOCUMENT])
  t.equal(refused.cache, 'rejected')
  t.equal(refused.code, 0)
  t.match(refused.stdout, /ACCEPTED document from 000\.00\.00\.G22/)

  rmSync(join(dist, 'verify-cli.cache'))
  const absent = await runBundleIn(dist, [...PKI_ARGS, REVOKED])
  t.equal(absent.cache, 'absent')
  t.equal(absent.code, 1)
  t.match(absent.stdout, /REJECTED CERT_REVOKED/)
})
