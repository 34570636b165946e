import { readFile } from 'node:fs/promises'

/** How the registry names an upstream's secret (never the secret itself): a file or a variable. */
export interface UpstreamSecretSource {
  id: string
  secretFile?: string | undefined | null
  secretEnv?: string | undefined | null
}

/**
 * The secret of an upstream, read where the registry says. A file's final line break is not part
 * of the secret (editors add one); anything else is, since the HMAC key is the string's exact
 * UTF-8 bytes. Lives in config/ because only this folder reads the process environment.
 */
export async function readUpstreamSecret (source: UpstreamSecretSource, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let secret: string | undefined
  if (source.secretFile != null) {
    try {
      secret = (await readFile(source.secretFile, 'utf8')).replace(/\r?\n$/, '')
    } catch (err) {
      throw new Error(`upstream ${source.id}: cannot read its secret file ${source.secretFile}: ${(err as Error).message}`)
    }
  } else if (source.secretEnv != null) {
    secret = env[source.secretEnv]
    if (secret == null) throw new Error(`upstream ${source.id}: the environment variable ${source.secretEnv} (its secret) is not set`)
  }
  if (secret == null || secret === '') throw new Error(`upstream ${source.id}: its secret is empty`)
  return secret
}
