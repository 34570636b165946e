import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { ENV_KEYS, keySchema, readEnv, type EnvKey } from '../../src/config/env-schema.js'

// .env.example is the operator's list of keys: it must hold every key of the schema with the
// schema's default, and no key the schema lacks (a key the hub would ignore). Adding a key means
// one line in src/config/env-schema.ts and one in .env.example; this test fails until both exist.

const ROOT = new URL('../../', import.meta.url)
const text = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8')

/** KEY=value lines (comments and blank lines skipped), in file order. */
function exampleValues (): Map<string, string> {
  const values = new Map<string, string>()
  for (const line of text('.env.example').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (m != null) values.set(m[1] as string, m[2] as string)
  }
  return values
}

t.test('every schema key is in .env.example, and nothing else', async (t) => {
  const documented = [...exampleValues().keys()]
  t.same(ENV_KEYS.filter((k) => !documented.includes(k)), [], 'schema keys missing from .env.example')
  t.same(documented.filter((k) => !(ENV_KEYS as string[]).includes(k)), [], '.env.example keys the schema lacks')
})

t.test('.env.example shows each key\'s default', async (t) => {
  const example = exampleValues()
  for (const key of ENV_KEYS) {
    const shown = example.get(key)
    if (shown == null) continue // reported above
    const def = (keySchema(key) as { default?: unknown }).default
    if (def === undefined) t.equal(shown, '', `${key}: no default, shown empty`)
    // Paths into the package are shown as written in the schema (relative to the package root).
    else if (typeof def === 'string') t.equal(shown, def, `${key}=${def}`)
    // Numbers, flags, lists: the shown text must read as the default.
    else t.same(readEnv({ [key]: shown }, { packageRoot: '/pkg' }).values[key as EnvKey], def, `${key}=${shown} reads as ${JSON.stringify(def)}`)
  }
})

t.test('every LIENTHONG_* key named in the docs and deployment files is a schema key', async (t) => {
  const files = ['README.md', 'compose.yaml', 'Dockerfile', ...readdirSync(new URL('docs/', ROOT)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  for (const file of files) {
    const content = text(file)
    const named = new Set(content.match(/LIENTHONG_[A-Z0-9_]*[A-Z0-9]/g) ?? [])
    const unknown = [...named].filter((k) => !(ENV_KEYS as string[]).includes(k) && !ENV_KEYS.some((known) => known.startsWith(`${k}_`)))
    t.same(unknown, [], `${file}: ${named.size} keys named`)
  }
})
