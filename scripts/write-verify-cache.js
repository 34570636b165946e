// Part of `npm run build` (scripts/build.js): writes the V8 code cache of the verify bundle,
// <dist>/verify-cli.cache, from one run of it in this process: `lienthong verify` of a document
// of the signature corpus against the example PKI, so that the cache holds the bytecode of the
// functions a verification calls, not only of the bundle's top level. The cache starts with the
// bundle's first line (its name), which src/cli/verify-bundle.ts compares before using it.
// The verdict does not matter (an expired example certificate still runs the verification), and
// without the corpus (a package unpacked without test/) only the top level is cached.
import { existsSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const dist = resolve(process.argv[2] ?? 'dist')
const { loadVerifyBundle, VERIFY_CACHE_FILE } = await import(pathToFileURL(join(dist, 'cli', 'verify-bundle.js')).href)
const bundle = loadVerifyBundle(dist, false)
const document = 'test/fixtures/signatures/valid/own-exc-rsa-sha256-one-recipient.edxml'
if (existsSync(document)) {
  process.argv = [process.argv[0], 'lienthong', 'verify', '--trust', 'certs-example/trust', '--registry', 'certs-example/registry.json', document]
  await bundle.run()
  process.exitCode = 0
}
// Written aside and renamed: a `verify` starting meanwhile reads no cache or the whole one.
const file = join(dist, VERIFY_CACHE_FILE)
writeFileSync(`${file}.${process.pid}`, Buffer.concat([Buffer.from(bundle.id + '\n'), bundle.createCachedData()]))
renameSync(`${file}.${process.pid}`, file)
