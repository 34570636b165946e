import { readFileSync } from 'node:fs'
import { trimXmlWhitespace } from './xml-whitespace.js'
import { compileGrammar, entryFor, type ChildTable, type Entry, type Grammar, type MessageKind, type Rule, type TextRule } from './envelope-grammar.js'
import { EDXML_NS } from './namespaces.js'
import type { KeepPolicy } from '../xmldsig/parse.js'
import type { XmlDocument, XmlElement } from '../xmldsig/xml-tree.js'

export type EnvelopeCheck =
  | { ok: true, kind: MessageKind }
  | { ok: false, code: 'SCHEMA_INVALID' | 'FIELD_TOO_LONG', path: string, message: string }

export type { MessageKind } from './envelope-grammar.js'

/** The one definition of the envelope; dist/edxml sits at the same depth as src/edxml. */
export const ENVELOPE_GRAMMAR_URL = new URL('../../schemas/edxml-envelope.json', import.meta.url)

/**
 * Text of a constrained leaf is read only up to this many characters: every constrained leaf
 * (agency codes, codes 0-4, status codes) is short, so anything longer is refused unread.
 */
export const MAX_CHECKED_TEXT = 4096

const GRAMMAR: Grammar = loadGrammar()

function loadGrammar (): Grammar {
  const grammar = compileGrammar(JSON.parse(readFileSync(ENVELOPE_GRAMMAR_URL, 'utf8')))
  if (grammar.root.namespace !== EDXML_NS) {
    throw new Error(`${ENVELOPE_GRAMMAR_URL.pathname}: the grammar's "" namespace must be ${EDXML_NS}`)
  }
  return grammar
}

/**
 * Checks a parsed document against the edXML envelope grammar and tells a document from a
 * status message. Child order is not enforced; unknown elements are tolerated and not looked
 * into; only direct text of constrained leaves is read (never payloads, never `textContent`).
 * Returns the first problem found, depth-first in document order.
 */
export function validateEdxmlEnvelope (doc: XmlDocument, grammar: Grammar = GRAMMAR): EnvelopeCheck {
  const root = doc.root
  const expected = grammar.root
  if (keyOf(root) !== expected.key) {
    return {
      ok: false,
      code: 'SCHEMA_INVALID',
      path: `/${root.local}`,
      message: `The root element must be ${expected.name} in namespace ${expected.namespace}, found ${describe(root)}`
    }
  }
  const walk: Walk = { kind: undefined }
  try {
    visit(root, expected.rule, `/${expected.name}`, expected.name, walk)
  } catch (err) {
    if (err instanceof Finding) return { ok: false, code: err.code, path: err.path, message: err.message }
    throw err
  }
  if (walk.kind == null) return { ok: false, code: 'SCHEMA_INVALID', path: `/${expected.name}`, message: 'The message kind (document or status) could not be determined' }
  return { ok: true, kind: walk.kind }
}

interface Walk { kind: MessageKind | undefined }

class Finding extends Error {
  constructor (readonly path: string, message: string, readonly code: 'SCHEMA_INVALID' | 'FIELD_TOO_LONG' = 'SCHEMA_INVALID') {
    super(message)
  }
}

// Recursion follows the grammar, not the document: only elements the grammar names are
// entered, so the depth is that of the grammar (about 8), whatever the input.
function visit (element: XmlElement, rule: Rule, path: string, name: string, walk: Walk): void {
  switch (rule.type) {
    case 'count-only':
      return
    case 'text':
      checkText(element, rule.text, path, name)
      return
    case 'children':
      checkChildren(element, rule.children, path, name, undefined, walk)
      return
    case 'variants': {
      const variant = rule.variants.find((v) => v.hasChild == null || hasChild(element, v.hasChild.namespace, v.hasChild.local))
      if (variant == null) {
        const names = rule.variants.map((v) => v.hasChild?.name ?? '').join(' or ')
        throw new Finding(path, `${name} must contain ${names}`)
      }
      walk.kind ??= variant.kind
      checkChildren(element, variant.children, path, name, variant.kind, walk)
    }
  }
}

function checkChildren (element: XmlElement, table: ChildTable, path: string, name: string, kind: MessageKind | undefined, walk: Walk): void {
  // Occurrences per entry, by the entry's position in its table: no key strings, no maps.
  const counts = new Array<number>(table.entries.length).fill(0)
  for (const n of element.children) {
    if (n.kind !== 'element') continue
    const entry = entryFor(table, n.uri, n.local)
    if (entry != null) counts[entry.index] = (counts[entry.index] as number) + 1
  }
  for (const entry of table.entries) {
    const found = counts[entry.index] as number
    const { min, max } = entry.occurs
    if (found < min || found > max) {
      const owner = kind == null ? name : `${name} of ${kind === 'status' ? 'a status message' : 'a document'}`
      throw new Finding(path, `${owner} must contain ${expectation(min, max, entry.name)}, found ${found}`)
    }
  }
  // Counted again while visiting: the index of each repeated element in its path.
  const seen = counts.fill(0)
  for (const n of element.children) {
    if (n.kind !== 'element') continue
    const entry = entryFor(table, n.uri, n.local)
    if (entry == null || entry.rule.type === 'count-only') continue
    const index = (seen[entry.index] as number) + 1
    seen[entry.index] = index
    const segment = entry.occurs.max > 1 ? `${entry.name}[${index}]` : entry.name
    visit(n, entry.rule, `${path}/${segment}`, entry.name, walk)
  }
}

function checkText (element: XmlElement, rule: TextRule, path: string, name: string): void {
  let raw = ''
  for (const n of element.children) {
    if (n.kind === 'element') throw new Finding(path, `${name} must contain only text, found element ${n.qname}`)
    if (n.kind !== 'text') continue
    const piece = n.value
    if (raw.length + piece.length > MAX_CHECKED_TEXT) throw new Finding(path, `${name} is longer than ${MAX_CHECKED_TEXT} characters`, 'FIELD_TOO_LONG')
    raw += piece
  }
  const value = trimXmlWhitespace(raw)
  if (value === '') {
    if (rule.required) throw new Finding(path, `${name} must not be empty`)
    return
  }
  if (rule.maxLength != null && value.length > rule.maxLength) {
    throw new Finding(path, `${name} must be at most ${rule.maxLength} characters long, found ${value.length}`, 'FIELD_TOO_LONG')
  }
  if (rule.pattern != null && !rule.pattern.test(value)) {
    throw new Finding(path, `${name} must be ${rule.patternMeans ?? `text matching ${String(rule.pattern)}`}, found ${quote(value)}`)
  }
  if (rule.enum != null && !rule.enum.includes(value)) {
    throw new Finding(path, `${name} must be one of ${rule.enum.join(', ')}, found ${quote(value)}`)
  }
}

function hasChild (element: XmlElement, namespace: string, local: string): boolean {
  for (const n of element.children) {
    if (n.kind === 'element' && n.local === local && n.uri === namespace) return true
  }
  return false
}

function keyOf (element: XmlElement): string {
  return `${element.uri}|${element.local}`
}

function expectation (min: number, max: number, name: string): string {
  if (min === max) return `exactly ${count(min)} ${name}`
  if (max === Infinity) return min === 1 ? `at least one ${name}` : `at least ${count(min)} ${name}`
  if (min === 0) return `at most ${count(max)} ${name}`
  return `between ${min} and ${max} ${name}`
}

function count (n: number): string {
  return ['no', 'one', 'two', 'three'][n] ?? String(n)
}

function describe (element: XmlElement): string {
  const ns = element.uri
  return `${element.qname} ${ns === '' ? 'with no namespace' : `in namespace ${ns}`}`
}

function quote (value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)
}

/**
 * Kept text per node: over 3x MAX_CHECKED_TEXT (a UTF-8 byte can be a third of a UTF-16 unit),
 * so a text kept only in part is still longer than MAX_CHECKED_TEXT and refused as such.
 */
export const MAX_KEPT_TEXT = 65_536

/**
 * What verification keeps of a document (parse.ts `KeepPolicy`): the elements the grammar names
 * under an element it checks (so their parent's counts and variants are exact), with their
 * content when the grammar checks it (rules with children, variants or text); of a text leaf's
 * element children only the first (the one the validator reports); nothing else (`count-only`
 * content, unknown elements, payloads): the validator never looks into them and
 * readSignedEnvelope reads only text leaves of the grammar. Memory then grows with the envelope
 * header, not with the document. `observe` sees every element at its start tag (the envelope
 * uniqueness check).
 */
export function envelopeKeepPolicy (observe?: (element: XmlElement) => void, grammar: Grammar = GRAMMAR): KeepPolicy {
  const rules = new Map<XmlElement, Rule>()
  const textLeafChild = new Set<XmlElement>()
  const named = grammarLocalNames(grammar)
  const keep = (element: XmlElement): 'content' | 'element' | 'none' => {
    const parent = element.parent
    if (parent == null) {
      if (keyOf(element) !== grammar.root.key) return 'none'
      rules.set(element, grammar.root.rule)
      return 'content'
    }
    const parentRule = rules.get(parent)
    if (parentRule?.type === 'text') {
      if (textLeafChild.has(parent)) return 'none'
      textLeafChild.add(parent)
      return 'element'
    }
    if (parentRule == null || !named.has(element.local)) return 'none'
    const found = keepLookup(parentRule).get(element.uri)?.get(element.local)
    if (found == null) return 'none'
    if (found.rule.type === 'count-only') return 'element'
    rules.set(element, found.rule)
    return 'content'
  }
  // One literal with every key, so every verification's policy has the same hidden class. A
  // policy made by spreading this into another literal (`{ ...policy, observe }`) gets a new
  // hidden class each time on V8 11 (Node 20): the parser's hot loop, optimised for one of them,
  // then deoptimised on every later document ("wrong map"), 0.45 -> 0.8 ms CPU per 10 KB.
  return { keep, observe, maxKeptText: MAX_KEPT_TEXT }
}

const KEEP_LOOKUPS = new WeakMap<Rule, Map<string, Map<string, Entry>>>()

/**
 * The entry a child of an element checked by `rule` is kept as, by namespace and local name,
 * made once per rule. Before its children are all seen, the variant of a MessageHeader is not
 * known: an element is kept as the variant that checks most of it says (an entry that checks
 * its content wins over a count-only one).
 */
function keepLookup (rule: Rule): Map<string, Map<string, Entry>> {
  const known = KEEP_LOOKUPS.get(rule)
  if (known != null) return known
  const lookup = new Map<string, Map<string, Entry>>()
  const tables = rule.type === 'children' ? [rule.children] : rule.type === 'variants' ? rule.variants.map((v) => v.children) : []
  for (const table of tables) {
    for (const [namespace, locals] of table.byName) {
      let merged = lookup.get(namespace)
      if (merged == null) lookup.set(namespace, merged = new Map())
      for (const [local, entry] of locals) {
        if (!merged.has(local) || entry.rule.type !== 'count-only') merged.set(local, entry)
      }
    }
  }
  KEEP_LOOKUPS.set(rule, lookup)
  return lookup
}

const LOCAL_NAMES = new WeakMap<Grammar, Set<string>>()

/** Every local name the grammar mentions: most unknown elements are dismissed by one lookup. */
function grammarLocalNames (grammar: Grammar): Set<string> {
  const known = LOCAL_NAMES.get(grammar)
  if (known != null) return known
  const names = new Set<string>()
  LOCAL_NAMES.set(grammar, names)
  const seen = new Set<Rule>()
  const walk = (rule: Rule): void => {
    if (seen.has(rule)) return
    seen.add(rule)
    const tables = rule.type === 'children' ? [rule.children] : rule.type === 'variants' ? rule.variants.map((v) => v.children) : []
    for (const table of tables) {
      for (const entry of table.entries) {
        names.add(entry.key.slice(entry.key.indexOf('|') + 1))
        walk(entry.rule)
      }
    }
  }
  walk(grammar.root.rule)
  return names
}
