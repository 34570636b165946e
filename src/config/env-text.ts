/**
 * The raw text of one environment variable, or undefined when unset or empty. Its own module, so
 * that commands which only read an option's default from the environment (`lienthong verify`) do
 * not load the schema library with env-schema.ts; env-schema.ts's envText() is this, restricted to
 * the schema's keys (callers here write `'KEY' satisfies EnvKey`).
 */
export function envTextOf (key: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[key]
  return value == null || value === '' ? undefined : value
}
