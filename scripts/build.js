// `npm run build`: compiles src/ into a fresh directory and swaps it in for dist/, so that a
// process started during a build (a test spawning the CLI while something rebuilt, an operator
// running `lienthong` during `npm ci`) finds the old or the new dist/ complete, never a half-written
// or emptied one. Being fresh, the new dist/ has no files of modules since removed or renamed in
// src/, and carries the SQL migrations of src/db/migrations exactly (the compiled code loads them).
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
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

/**
 * `lienthong verify` as one file, dist/verify-cli.js (dist/cli/main.js runs it for `verify`): Node
 * resolves and compiles ~1,200 separate modules for the unbundled command, which is most of its
 * start-up. Modules that find files from import.meta.url (the package root, schemas/) get the
 * URL their compiled file would have in dist/, so they find the same files. The metafile lists
 * what went in (test/cli/verify-start-up.test.ts checks that no server package did).
 */
async function bundleVerify (outDir) {
  const result = await build({
    entryPoints: ['src/cli/verify-main.ts'],
    outfile: `${outDir}/verify-cli.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    logLevel: 'warning',
    plugins: [moduleUrlAsInDist()],
    // CommonJS dependencies (commander) call require() for Node's own modules.
    banner: { js: "import { createRequire as lienthongCreateRequire } from 'node:module'; const require = lienthongCreateRequire(import.meta.url);" }
  })
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
