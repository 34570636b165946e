// `npm run build`: compiles src/ into a fresh directory and swaps it in for dist/, so that a
// process started during a build (a test spawning the CLI while something rebuilt, an operator
// running `lienthong` during `npm ci`) finds the old or the new dist/ complete, never a half-written
// or emptied one. Being fresh, the new dist/ has no files of modules since removed or renamed in
// src/, and carries the SQL migrations of src/db/migrations exactly (the compiled code loads them).
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { relative, resolve } from 'node:path'
import { build } from 'esbuild'

const next = `dist.next-${process.pid}`
const old = `dist.old-${process.pid}`
rmSync(next, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', next], { stdio: 'inherit' })
  cpSync('src/db/migrations', `${next}/db/migrations`, { recursive: true })
  await bundleVerify(next)
} catch (err) {
  rmSync(next, { recursive: true, force: true })
  process.exitCode = 1
  throw err
}
// Two renames: dist/ is absent only between them (microseconds), never partly written.
if (existsSync('dist')) renameSync('dist', old)
renameSync(next, 'dist')
rmSync(old, { recursive: true, force: true })
// The code cache of the verify bundle, written from a run in its final place: V8 keeps the file
// name of the run that wrote it for stack traces. Until it is there, `verify` compiles the bundle
// from source (slower, the same). Without NODE_OPTIONS (tap's, an operator's): V8 refuses a cache
// written under other V8 flags, and the command runs without any.
const cacheEnv = { ...process.env }
delete cacheEnv.NODE_OPTIONS
execFileSync(process.execPath, ['scripts/write-verify-cache.js', 'dist'], { env: cacheEnv, stdio: ['ignore', 'ignore', 'inherit'] })

/**
 * `lienthong verify` as one file, dist/verify-cli.cjs (bin/lienthong.js and dist/cli/main.js run it
 * through dist/cli/verify-bundle.js for `verify`): Node resolves and compiles ~1,200 separate
 * modules for the unbundled command, which is most of its start-up. CommonJS, because a script
 * (not a module) is what V8's code cache serves in Node 20: scripts/write-verify-cache.js runs the
 * bundle once (above, after the swap) and stores the bytecode it compiled in dist/verify-cli.cache.
 * Modules that find files from import.meta.url (the package root, schemas/) get the URL their
 * compiled file would have in dist/, so they find the same files. The metafile lists what went in
 * (test/cli/verify-start-up.test.ts checks that no server package did).
 */
async function bundleVerify (outDir) {
  const result = await build({
    entryPoints: ['src/cli/verify-main.ts'],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    metafile: true,
    logLevel: 'warning',
    plugins: [moduleUrlAsInDist()],
    // In the CommonJS bundle import.meta is empty: the bundle's own URL stands in for it.
    define: { 'import.meta.url': 'lienthongBundleUrl' },
    banner: { js: "const lienthongBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    outfile: `${outDir}/verify-cli.cjs`
  })
  const code = result.outputFiles[0].contents
  // The first line names the bundle (the hash of the rest): verify-bundle.ts uses a code cache
  // only if it was written for the bundle of that name.
  const id = `// lienthong-verify-bundle sha256:${createHash('sha256').update(code).digest('hex')}\n`
  writeFileSync(`${outDir}/verify-cli.cjs`, Buffer.concat([Buffer.from(id), code]))
  writeFileSync(`${outDir}/verify-cli.meta.json`, JSON.stringify({ inputs: Object.keys(result.metafile.inputs) }, null, 1))
}

/** Rewrites import.meta.url in src/ modules to the URL of the module's own file in dist/. */
function moduleUrlAsInDist () {
  return {
    name: 'module-url-as-in-dist',
    setup (plugin) {
      const src = resolve('src')
      plugin.onLoad({ filter: /\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8')
        if (!args.path.startsWith(src) || !text.includes('import.meta.url')) return undefined
        const own = './' + relative(src, args.path).replaceAll('\\', '/').replace(/\.ts$/, '.js')
        return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(own)}, import.meta.url).href`), loader: 'ts' }
      })
    }
  }
}
