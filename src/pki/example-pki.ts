// Example PKI for tests and demos: CAs, CRLs, demo agency certificates, deliberately broken
// certificates and the demo agency registry. NOT FOR PRODUCTION: the private keys get published.
import { buildExamplePki } from './example-pki/build.js'
import { examplePkiFiles, type ExamplePkiFile } from './example-pki/files.js'
import { assertWritable, writeExamplePkiFiles } from './example-pki/write.js'

export { DirectoryNotEmptyError } from './example-pki/write.js'
export { REGISTRY_PATH, STALE_TRUST_DIR, TRUST_DIR, type ExamplePkiFile } from './example-pki/files.js'
export { CA_KEYS_DIR, HUB_FILES, ISSUING_CA_KEY_PATH, ROOT_CA_KEY_PATH } from './example-pki/layout.js'
export { EXAMPLE_HUBS, exampleHub, type ExampleHub } from './example-pki/hubs.js'
export { MissingCaKeyError, issueExampleHub, type IssueHubOptions } from './example-pki/issue-hub.js'

export interface ExamplePkiOptions {
  /** Reference time for every validity period and CRL date (default: the current time). */
  now?: Date
  /** Write into a non-empty directory, overwriting files of the same name. */
  force?: boolean
}

/**
 * Generates the example PKI into `dir` (created if missing). Refuses a non-empty `dir` unless
 * `force`. Everything is generated in memory first, so a failure writes nothing.
 */
export async function generateExamplePki (dir: string, options: ExamplePkiOptions = {}): Promise<void> {
  await generateExamplePkiFiles(dir, options)
}

/** As {@link generateExamplePki}, returning what was written (paths relative to `dir`). */
export async function generateExamplePkiFiles (dir: string, options: ExamplePkiOptions = {}): Promise<ExamplePkiFile[]> {
  const force = options.force ?? false
  await assertWritable(dir, force) // fail before the (slow) key generation
  const files = await examplePkiFiles(await buildExamplePki(options.now ?? new Date()))
  await writeExamplePkiFiles(dir, files, force)
  return files
}
