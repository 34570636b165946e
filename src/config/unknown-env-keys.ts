import { ENV_KEYS } from './env-schema.js'

export interface UnknownEnvKey {
  key: string
  /** The schema key it is most likely a typo of, when one is close. */
  suggestion?: string
}

/**
 * LIENTHONG_* keys of the environment that the schema does not know: a typo (LIENTHONG_PROT) or a
 * key of another version is otherwise silently ignored, and the hub runs on the default.
 */
export function unknownEnvKeys (env: NodeJS.ProcessEnv = process.env): UnknownEnvKey[] {
  const known = new Set<string>(ENV_KEYS)
  return Object.keys(env)
    .filter((key) => key.startsWith('LIENTHONG_') && !known.has(key))
    .sort()
    .map((key) => {
      const suggestion = closest(key)
      return suggestion != null ? { key, suggestion } : { key }
    })
}

/** The one line start-up logs about them (undefined: none). */
export function unknownEnvKeysMessage (unknown: readonly UnknownEnvKey[]): string | undefined {
  if (unknown.length === 0) return undefined
  const named = unknown.map((u) => (u.suggestion != null ? `${u.key} (did you mean ${u.suggestion}?)` : u.key))
  return `unknown configuration key${unknown.length > 1 ? 's' : ''} ignored: ${named.join(', ')}; the keys are listed in .env.example`
}

/** Start-up of `start`, `serve` and `worker`: one warning naming the unknown keys, if any. */
export function warnUnknownEnvKeys (logger: { warn: (obj: object, msg: string) => void }, env: NodeJS.ProcessEnv = process.env): void {
  const unknown = unknownEnvKeys(env)
  const message = unknownEnvKeysMessage(unknown)
  if (message != null) logger.warn({ unknownKeys: unknown.map((u) => u.key) }, message)
}

/** The nearest schema key within a few edits (a typo), or undefined. */
function closest (key: string): string | undefined {
  let best: { key: string, distance: number } | undefined
  for (const candidate of ENV_KEYS) {
    const d = editDistance(key, candidate)
    if (best == null || d < best.distance) best = { key: candidate, distance: d }
  }
  // A third of the part after the prefix: LIENTHONG_PROT -> LIENTHONG_PORT, not LIENTHONG_FOO -> LIENTHONG_HOST.
  return best != null && best.distance <= Math.max(1, Math.floor((key.length - 'LIENTHONG_'.length) / 3)) ? best.key : undefined
}

/** Damerau-Levenshtein distance (optimal string alignment): a swap of two letters is one edit. */
function editDistance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 0; j <= b.length; j++) (d[0] as number[])[j] = j
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[]
    const prev = d[i - 1] as number[]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, (d[i - 2] as number[])[j - 2] as number + 1)
    }
  }
  return (d[a.length] as number[])[b.length] as number
}
