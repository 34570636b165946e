import type { EnvKey } from './env-schema.js'

/**
 * The raw text of one environment key, or undefined when unset or empty. Its own module, so that
 * commands which only read a default from the environment (`lienthong verify`) do not load the
 * schema library with env-schema.ts.
 */
export function envText (key: EnvKey, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[key]
  return value == null || value === '' ? undefined : value
}
