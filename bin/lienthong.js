#!/usr/bin/env node
// Entry point for `lienthong` / `npx lienthong`. Runs the compiled CLI from dist/ (built by
// `npm ci` through the `prepare` script); falls back to the TypeScript sources through tsx in a
// development checkout where dist/ has not been built yet.
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const compiled = join(dist, 'cli', 'main.js')
if (process.argv[2] === 'verify' && existsSync(join(dist, 'verify-cli.cjs'))) {
  // `lienthong verify` straight to its bundle and code cache (src/cli/verify-bundle.ts): issue 15,
  // a small file verified in under 200 ms, leaves no time for the full CLI's entry module.
  await (await import(pathToFileURL(join(dist, 'cli', 'verify-bundle.js')).href)).runVerifyBundle(dist)
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href)
} else {
  await import('tsx/esm')
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href)
}
