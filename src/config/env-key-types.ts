import { isAbsolute, join, resolve } from 'node:path'
import { Type, type TArray, type TBoolean, type TInteger, type TLiteral, type TOptional, type TSchema, type TString, type TUnion } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

/**
 * The kinds of environment key (env-schema.ts) and how each is read from its text. The TypeBox
 * type of a key describes its parsed value (so EnvValues is derived from the schema), with the
 * default and constraints on it; `x-env` says how the text becomes that value.
 */
interface EnvMeta {
  kind: 'integer' | 'text' | 'path' | 'flag' | 'oneOf' | 'urlList'
  /** The sentence after "KEY=value:" when a text key does not match its pattern. */
  hint?: string
  /** Never echo the value in a message (it may hold a password or a token). */
  secret?: boolean
  /** The default is relative to the package root (the demo material of certs-example/). */
  defaultInPackage?: boolean
  /** Set but empty means "none" (no chain, Node's default CAs); unset means the default. */
  emptyIsNone?: boolean
  /** true/1/false/0 in any case and with spaces around (the development push switches always took them so). */
  lenient?: boolean
}

const META = 'x-env'
type WithMeta = TSchema & { [META]: EnvMeta, default?: unknown, minimum?: number, maximum?: number }

export function integer (def: number, minimum: number, maximum: number, description: string): TInteger {
  return Type.Integer({ default: def, minimum, maximum, description, [META]: { kind: 'integer' } })
}

export function optionalInteger (minimum: number, maximum: number, description: string): TOptional<TInteger> {
  return Type.Optional(Type.Integer({ minimum, maximum, description, [META]: { kind: 'integer' } }))
}

export function text (def: string, description: string, options: { pattern?: string, hint?: string } = {}): TString {
  return Type.String({ default: def, description, ...(options.pattern != null ? { pattern: options.pattern } : {}), [META]: { kind: 'text', ...options } })
}

export function optionalText (description: string, options: { pattern?: string, hint?: string, secret?: boolean } = {}): TOptional<TString> {
  return Type.Optional(Type.String({ description, ...(options.pattern != null ? { pattern: options.pattern } : {}), [META]: { kind: 'text', ...options } }))
}

interface PathOptions { defaultInPackage?: boolean, emptyIsNone?: boolean }
/** A file or directory; relative values resolve against the working directory. */
export function path (def: string, description: string, options: PathOptions & { emptyIsNone: true }): TOptional<TString>
export function path (def: string | undefined, description: string, options?: PathOptions): TString
export function path (def: string | undefined, description: string, options: PathOptions = {}): TString | TOptional<TString> {
  const schema = Type.String({ ...(def != null ? { default: def } : {}), description, [META]: { kind: 'path', ...options } })
  return def == null || options.emptyIsNone === true ? Type.Optional(schema) : schema
}

export function flag (description: string, options: { lenient?: boolean } = {}): TBoolean {
  return Type.Boolean({ default: false, description, [META]: { kind: 'flag', ...options } })
}

export function oneOf<const T extends string> (values: readonly T[], def: NoInfer<T>, description: string): TUnion<Array<TLiteral<T>>> {
  return Type.Union(values.map((v) => Type.Literal(v)), { default: def, description, [META]: { kind: 'oneOf' } }) as TUnion<Array<TLiteral<T>>>
}

export function urlList (description: string): TArray<TString> {
  return Type.Array(Type.String({ pattern: '^https?://[^/\\s]' }), { default: [], description, [META]: { kind: 'urlList' } })
}

/** A key's value, and what is wrong with its text (then the value is the default). */
export interface KeyRead { value: unknown, problems?: string[] }

/** How one key is read: from its raw text (undefined: unset) to its value, or a sentence naming it. */
export function envKey (key: string, schema: TSchema): { read: (raw: string | undefined, packageRoot: string | undefined) => KeyRead, meta: EnvMeta } {
  const s = schema as WithMeta
  const meta = s[META]
  const fallback = (packageRoot: string | undefined): unknown => {
    if (s.default === undefined) return undefined
    if (meta.defaultInPackage === true) {
      if (packageRoot == null) throw new Error(`${key}: its default lies in the package; read it with readEnv`)
      return join(packageRoot, s.default as string)
    }
    if (meta.kind === 'path') return resolvePath(s.default as string)
    return structuredClone(s.default)
  }
  const read = (raw: string | undefined, packageRoot: string | undefined): KeyRead => {
    if (raw === '' && meta.emptyIsNone === true) return { value: undefined }
    if (raw == null || raw === '') return { value: fallback(packageRoot) }
    const parsed = parse(key, raw, s, meta)
    return parsed.problems != null ? { value: fallback(packageRoot), problems: parsed.problems } : parsed
  }
  return { read, meta }
}

function parse (key: string, raw: string, s: WithMeta, meta: EnvMeta): KeyRead {
  const shown = meta.secret === true ? key : `${key}=${raw}`
  switch (meta.kind) {
    case 'integer': {
      const value = Number(raw)
      return Value.Check(s, value) ? { value } : { value, problems: [`${shown}: must be an integer between ${s.minimum ?? '-'} and ${s.maximum ?? '-'}`] }
    }
    case 'flag': {
      const word = meta.lenient === true ? raw.trim().toLowerCase() : raw
      if (word === '' || word === '0' || word === 'false') return { value: false }
      if (word === '1' || word === 'true') return { value: true }
      return { value: false, problems: [meta.lenient === true ? `${key}: "${raw}" is not true, 1, false, 0 or empty` : `${shown}: must be 1 (true) or 0 (false)`] }
    }
    case 'oneOf': {
      if (Value.Check(s, raw)) return { value: raw }
      const allowed = (s as unknown as TUnion<Array<TLiteral<string>>>).anyOf.map((l) => l.const)
      return { value: raw, problems: [`${shown}: must be ${allowed.length === 2 ? allowed.map((a) => `"${a}"`).join(' or ') : `one of ${allowed.join(', ')}`}`] }
    }
    case 'urlList': {
      const urls = raw.split(',').map((u) => u.trim()).filter((u) => u !== '')
      const bad = urls.filter((u) => !Value.Check((s as unknown as TArray<TString>).items, u) || !URL.canParse(u))
      return bad.length === 0 ? { value: urls } : { value: urls, problems: bad.map((u) => `${key}: "${u}" is not an http(s) URL`) }
    }
    case 'path':
      return { value: resolvePath(raw) }
    case 'text':
      return Value.Check(s, raw) ? { value: raw } : { value: raw, problems: [`${shown}: ${meta.hint ?? 'has the wrong form'}`] }
  }
}

const resolvePath = (value: string): string => (isAbsolute(value) ? value : resolve(value))
