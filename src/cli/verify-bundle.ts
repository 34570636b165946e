import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Script, constants } from 'node:vm'

// `lienthong verify` starts from one bundled file, dist/verify-cli.cjs (verify-main.ts with all it
// imports, made by scripts/build.js), compiled here with the V8 code cache that the build wrote
// beside it, dist/verify-cli.cache. Node 20 has no compile cache of its own (module.enableCompileCache
// came in Node 22.1), and compiling the 1.3 MB bundle plus every function the verification calls
// was about a third of the command's CPU time; with the cache V8 takes the bytecode as it is.
//
// The cache is bytecode of exactly this bundle's source, written by a run of it at build time. V8
// checks only the source's length, its own version and its flags: the bundle's first line names
// the hash of the rest, and the cache is used only if it carries the same line, so a bundle rebuilt
// or edited without its cache never runs another bundle's bytecode. Without a usable cache (another
// Node version, or V8 refuses it) the bundle is compiled from its source, slower and the same.

export const VERIFY_BUNDLE_FILE = 'verify-cli.cjs'
export const VERIFY_CACHE_FILE = 'verify-cli.cache'

/** 'absent': no cache file; 'other-bundle': a cache of another build; 'rejected': V8 refused it. */
export type CacheUse = 'accepted' | 'rejected' | 'absent' | 'other-bundle'

export interface LoadedVerifyBundle {
  cache: CacheUse
  /** The first line of the bundle: `// lienthong-verify-bundle sha256:<hex of the rest>`. */
  id: string
  /** Runs `lienthong verify` with process.argv (exit code as set by the command). */
  run: () => Promise<void>
  /** The code cache as it is now (after `run`: with every function the run compiled). */
  createCachedData: () => Buffer
}

/** Compiles the bundle in `distDir` (with its cache unless `useCache` is false); runs nothing yet. */
export function loadVerifyBundle (distDir: string, useCache = true): LoadedVerifyBundle {
  const file = join(distDir, VERIFY_BUNDLE_FILE)
  const source = readFileSync(file, 'utf8')
  const id = source.slice(0, source.indexOf('\n'))
  let cachedData: Buffer | undefined
  let cache: CacheUse = 'absent'
  if (useCache) {
    try {
      const stored = readFileSync(join(distDir, VERIFY_CACHE_FILE))
      const header = Buffer.from(id + '\n')
      if (id.startsWith('// lienthong-verify-bundle ') && stored.subarray(0, header.length).equals(header)) {
        cachedData = stored.subarray(header.length)
      } else {
        cache = 'other-bundle'
      }
    } catch {
      // No cache file (a build without one, or removed): compile from source.
    }
  }
  // The same wrapper as Node's for a CommonJS file, so that `require` is the bundle's own.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData != null ? { cachedData } : {}),
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
  })
  if (cachedData != null) cache = script.cachedDataRejected === true ? 'rejected' : 'accepted'
  const wrapper = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void
  const module = { exports: {} as { runVerify?: () => Promise<void> } }
  return {
    cache,
    id,
    run: async () => {
      wrapper(module.exports, createRequire(pathToFileURL(file)), module, file, dirname(file))
      if (typeof module.exports.runVerify !== 'function') throw new Error(`${file} does not export runVerify: rebuild with npm run build`)
      await module.exports.runVerify()
    },
    createCachedData: () => script.createCachedData()
  }
}

/** `lienthong verify` from the bundle in `distDir`. */
export async function runVerifyBundle (distDir: string): Promise<void> {
  await loadVerifyBundle(distDir).run()
}
