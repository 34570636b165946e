// `npm run build`: compiles src/ into a fresh directory and swaps it in for dist/, so that a
// process started during a build (a test spawning the CLI while something rebuilt, an operator
// running `lienthong` during `npm ci`) finds the old or the new dist/ complete, never a half-written
// or emptied one. Being fresh, the new dist/ has no files of modules since removed or renamed in
// src/, and carries the SQL migrations of src/db/migrations exactly (the compiled code loads them).
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'

const next = `dist.next-${process.pid}`
const old = `dist.old-${process.pid}`
rmSync(next, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', next], { stdio: 'inherit' })
  cpSync('src/db/migrations', `${next}/db/migrations`, { recursive: true })
} catch (err) {
  rmSync(next, { recursive: true, force: true })
  process.exitCode = 1
  throw err
}
// Two renames: dist/ is absent only between them (microseconds), never partly written.
if (existsSync('dist')) renameSync('dist', old)
renameSync(next, 'dist')
rmSync(old, { recursive: true, force: true })
