/**
 * Compiles the declarative envelope grammar (schemas/edxml-envelope.json, described in
 * schemas/README.md) into lookup tables the validator walks. The JSON is operator-editable, so
 * it is checked strictly here: an unknown key, a bad `occurs` or a dangling rule name is a
 * startup error, never a silently ignored constraint.
 */

export type MessageKind = 'document' | 'status'

export interface Occurs { min: number, max: number }

export interface TextRule {
  required: boolean
  maxLength?: number
  pattern?: RegExp
  patternMeans?: string
  enum?: readonly string[]
}

/** What is checked inside an element. `count-only`: nothing, its content is never read. */
export type Rule =
  | { type: 'count-only' }
  | { type: 'text', text: TextRule }
  | { type: 'children', children: ChildTable }
  | { type: 'variants', variants: Variant[] }

export interface Entry {
  /** `namespace|localName`, what a DOM element is looked up by. */
  key: string
  namespace: string
  local: string
  /** Position in its table's `entries` (the validator counts occurrences in an array). */
  index: number
  /** The name as written in the grammar (`From`, `ds:Signature`), used in paths and messages. */
  name: string
  occurs: Occurs
  rule: Rule
}

export interface ChildTable {
  entries: Entry[]
  byKey: Map<string, Entry>
  /** The same entries by namespace, then local name: looked up without building a key string per element. */
  byName: Map<string, Map<string, Entry>>
}

/** The entry an element with this namespace and local name falls under, as `byKey` would say. */
export function entryFor (table: ChildTable, namespace: string, local: string): Entry | undefined {
  return table.byName.get(namespace)?.get(local)
}

export interface Variant {
  kind?: MessageKind
  /** Chosen when the element has a child with this key; a variant without it is the default. */
  hasChild?: { key: string, name: string, namespace: string, local: string }
  children: ChildTable
}

export interface Grammar {
  namespaces: ReadonlyMap<string, string>
  root: { key: string, name: string, namespace: string, rule: Rule }
}

export class GrammarError extends Error {
  constructor (where: string, message: string) {
    super(`envelope grammar, at ${where}: ${message}`)
    this.name = 'GrammarError'
  }
}

type Json = Record<string, unknown>

const KINDS: readonly string[] = ['document', 'status']
const RULE_KEYS = ['children', 'text', 'variants']

export function compileGrammar (source: unknown): Grammar {
  const top = object(source, '(top)')
  allowKeys(top, ['title', 'grammar', 'note', 'namespaces', 'root', 'rules'], '(top)')
  if (top.grammar !== 1) throw new GrammarError('grammar', 'only grammar version 1 is understood')

  const namespaces = new Map<string, string>()
  for (const [prefix, uri] of Object.entries(object(top.namespaces, 'namespaces'))) {
    if (typeof uri !== 'string' || uri === '') throw new GrammarError(`namespaces.${prefix}`, 'must be a namespace URI')
    namespaces.set(prefix, uri)
  }
  if (!namespaces.has('')) throw new GrammarError('namespaces', 'must declare the edXML namespace under the key ""')

  const rulesJson = object(top.rules, 'rules')
  const compiled = new Map<string, Rule>()
  const inProgress = new Set<string>()

  const qualify = (name: unknown, where: string): { key: string, name: string, namespace: string, local: string } => {
    if (typeof name !== 'string' || !/^(?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*$/.test(name)) {
      throw new GrammarError(where, `${JSON.stringify(name)} is not an element name`)
    }
    const colon = name.indexOf(':')
    const prefix = colon < 0 ? '' : name.slice(0, colon)
    const namespace = namespaces.get(prefix)
    if (namespace == null) throw new GrammarError(where, `prefix "${prefix}" is not declared in namespaces`)
    const local = name.slice(colon + 1)
    return { key: `${namespace}|${local}`, name, namespace, local }
  }

  const named = (name: string, where: string): Rule => {
    const done = compiled.get(name)
    if (done != null) return done
    if (!Object.hasOwn(rulesJson, name)) throw new GrammarError(where, `rule "${name}" is not defined in rules`)
    if (inProgress.has(name)) throw new GrammarError(where, `rule "${name}" refers to itself`)
    inProgress.add(name)
    const json = object(rulesJson[name], `rules.${name}`)
    allowKeys(json, [...RULE_KEYS, 'note'], `rules.${name}`)
    const rule = inlineRule(json, `rules.${name}`)
    if (rule.type === 'count-only') throw new GrammarError(`rules.${name}`, 'a named rule needs children, text or variants')
    inProgress.delete(name)
    compiled.set(name, rule)
    return rule
  }

  const inlineRule = (json: Json, where: string): Rule => {
    const present = RULE_KEYS.filter((k) => json[k] !== undefined)
    if (present.length > 1) throw new GrammarError(where, `use only one of ${present.join(', ')}`)
    if (json.children !== undefined) return { type: 'children', children: table(json.children, `${where}.children`) }
    if (json.text !== undefined) return { type: 'text', text: textRule(json.text, `${where}.text`) }
    if (json.variants !== undefined) return { type: 'variants', variants: variants(json.variants, `${where}.variants`) }
    return { type: 'count-only' }
  }

  const table = (source: unknown, where: string): ChildTable => {
    const entries: Entry[] = []
    const byKey = new Map<string, Entry>()
    const byName = new Map<string, Map<string, Entry>>()
    for (const [name, value] of Object.entries(object(source, where))) {
      const at = `${where}.${name}`
      const json = object(value, at)
      allowKeys(json, ['occurs', 'rule', 'note', ...RULE_KEYS], at)
      if (json.rule !== undefined && RULE_KEYS.some((k) => json[k] !== undefined)) {
        throw new GrammarError(at, 'use either "rule" or an inline children/text/variants, not both')
      }
      if (json.rule !== undefined && typeof json.rule !== 'string') throw new GrammarError(`${at}.rule`, 'must be a rule name')
      const rule = typeof json.rule === 'string' ? named(json.rule, `${at}.rule`) : inlineRule(json, at)
      const { key, name: written, namespace, local } = qualify(name, at)
      const entry: Entry = { key, name: written, namespace, local, index: entries.length, occurs: occurs(json.occurs, `${at}.occurs`), rule }
      entries.push(entry)
      byKey.set(entry.key, entry)
      let locals = byName.get(namespace)
      if (locals == null) byName.set(namespace, locals = new Map())
      locals.set(local, entry)
    }
    return { entries, byKey, byName }
  }

  const variants = (source: unknown, where: string): Variant[] => {
    if (!Array.isArray(source) || source.length === 0) throw new GrammarError(where, 'must be a non-empty array')
    return source.map((value, i) => {
      const at = `${where}[${i}]`
      const json = object(value, at)
      allowKeys(json, ['kind', 'when', 'children', 'note'], at)
      const variant: Variant = { children: table(json.children, `${at}.children`) }
      if (json.kind !== undefined) {
        if (typeof json.kind !== 'string' || !KINDS.includes(json.kind)) throw new GrammarError(`${at}.kind`, `must be one of ${KINDS.join(', ')}`)
        variant.kind = json.kind as MessageKind
      }
      if (json.when !== undefined) {
        const when = object(json.when, `${at}.when`)
        allowKeys(when, ['hasChild'], `${at}.when`)
        const { key, name, namespace, local } = qualify(when.hasChild, `${at}.when.hasChild`)
        variant.hasChild = { key, name, namespace, local }
      } else if (i !== source.length - 1) {
        throw new GrammarError(at, 'only the last variant may omit "when"')
      }
      return variant
    })
  }

  const root = object(top.root, 'root')
  allowKeys(root, ['name', 'rule', 'note'], 'root')
  if (typeof root.rule !== 'string') throw new GrammarError('root.rule', 'must be a rule name')
  const rootRule = named(root.rule, 'root.rule')
  for (const name of Object.keys(rulesJson)) named(name, `rules.${name}`)
  const { key, name, namespace } = qualify(root.name, 'root.name')
  return { namespaces, root: { key, name, namespace, rule: rootRule } }
}

function textRule (source: unknown, where: string): TextRule {
  const json = object(source, where)
  allowKeys(json, ['required', 'maxLength', 'pattern', 'patternMeans', 'enum', 'note'], where)
  if (typeof json.required !== 'boolean') throw new GrammarError(`${where}.required`, 'must be true or false')
  const rule: TextRule = { required: json.required }
  if (json.maxLength !== undefined) {
    if (!Number.isInteger(json.maxLength) || (json.maxLength as number) < 1) throw new GrammarError(`${where}.maxLength`, 'must be a positive integer')
    rule.maxLength = json.maxLength as number
  }
  if (json.pattern !== undefined) {
    if (typeof json.pattern !== 'string') throw new GrammarError(`${where}.pattern`, 'must be a regular expression string')
    try {
      rule.pattern = new RegExp(json.pattern, 'u')
    } catch (err) {
      throw new GrammarError(`${where}.pattern`, (err as Error).message)
    }
  }
  if (json.patternMeans !== undefined) {
    if (typeof json.patternMeans !== 'string' || rule.pattern == null) throw new GrammarError(`${where}.patternMeans`, 'must be a phrase, next to a pattern')
    rule.patternMeans = json.patternMeans
  }
  if (json.enum !== undefined) {
    if (!Array.isArray(json.enum) || json.enum.length === 0 || !json.enum.every((v) => typeof v === 'string')) {
      throw new GrammarError(`${where}.enum`, 'must be a non-empty array of strings')
    }
    rule.enum = json.enum as string[]
  }
  return rule
}

const OCCURS = /^(\d+)(?:\.\.(\d+|n))?$/

function occurs (source: unknown, where: string): Occurs {
  const m = typeof source === 'string' ? OCCURS.exec(source) : null
  if (m == null) throw new GrammarError(where, 'must be "1", "0..1", "1..n", "0..n" or another "min..max"')
  const min = Number(m[1])
  const max = m[2] == null ? min : m[2] === 'n' ? Infinity : Number(m[2])
  if (max < min || max === 0) throw new GrammarError(where, `"${source as string}" allows no element at all or has max below min`)
  return { min, max }
}

function object (value: unknown, where: string): Json {
  if (typeof value !== 'object' || value == null || Array.isArray(value)) throw new GrammarError(where, 'must be a JSON object')
  return value as Json
}

function allowKeys (json: Json, allowed: string[], where: string): void {
  for (const key of Object.keys(json)) {
    if (!allowed.includes(key)) throw new GrammarError(where, `unknown key "${key}" (allowed: ${allowed.join(', ')})`)
  }
}
