import { XML_NAMESPACE, type XmlAttribute, type XmlDocument, type XmlElement, type XmlNode } from './xml-tree.js'

export const C14N_10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
export const C14N_10_COMMENTS = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments'
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'
export const EXC_C14N_COMMENTS = 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments'

export const C14N_METHODS: ReadonlySet<string> = new Set([C14N_10, C14N_10_COMMENTS, EXC_C14N, EXC_C14N_COMMENTS])

export interface C14nOptions {
  method: string
  /** Canonicalise only this element and its descendants, as a document subset (e.g. SignedInfo). */
  apex?: XmlElement
  /** Leave this element and its descendants out (the enveloped-signature transform). */
  exclude?: XmlElement
  /** Exclusive C14N's InclusiveNamespaces PrefixList; '#default' names the default namespace. */
  inclusivePrefixes?: readonly string[]
}

/** The same canonicalization without comments (what a same-document Reference digests). */
export function withoutComments (method: string): string {
  if (method === C14N_10_COMMENTS) return C14N_10
  if (method === EXC_C14N_COMMENTS) return EXC_C14N
  return method
}

/**
 * Receives the canonical form piece by piece, in order (a hash, or an array to join). A `Buffer`
 * is UTF-8 bytes of canonical output (a slice of the input, handed on without decoding).
 */
export type C14nSink = (chunk: string | Buffer) => void

export function canonicalize (doc: XmlDocument, options: C14nOptions): string {
  const parts: string[] = []
  canonicalizeTo(doc, options, (chunk) => { parts.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8')) })
  return parts.join('')
}

/**
 * Canonical XML 1.0 and Exclusive XML Canonicalization 1.0, with and without comments, written
 * from the W3C specifications and checked byte for byte against libxml2
 * (test/xmldsig/c14n-libxml2-differential.test.ts). Everything a conforming canonicaliser does
 * is here, in particular what the library the hub used before got wrong:
 * - processing instructions are rendered as `<?target data?>`, never as text;
 * - attributes are ordered by namespace URI, then local name, each compared by code point
 *   (never the two concatenated, never localeCompare); namespace declarations by prefix;
 * - `xmlns…` is a namespace declaration only when the name is exactly `xmlns` or has the
 *   `xmlns` prefix (the parser separates them; `xmlnsX` is an ordinary attribute);
 * - the `xml` namespace is never declared;
 * - inclusive C14N of a subset (SignedInfo) renders every namespace in scope at its apex and
 *   the xml:* attributes inherited from ancestors outside the subset;
 * - nodes outside the root element are rendered with the line feeds the spec prescribes.
 *
 * Cost: one walk of the subset; namespace scope is kept in per-prefix stacks, so the work per
 * element is proportional to its own attributes and declarations, whatever the document.
 */
export function canonicalizeTo (doc: XmlDocument, options: C14nOptions, sink: C14nSink): void {
  const method = options.method
  if (!C14N_METHODS.has(method)) throw new Error(`unsupported canonicalization ${method}`)
  const exclusive = method === EXC_C14N || method === EXC_C14N_COMMENTS
  const comments = method === C14N_10_COMMENTS || method === EXC_C14N_COMMENTS
  const inclusivePrefixes = new Set((options.inclusivePrefixes ?? []).map((p) => p === '#default' ? '' : p))
  const writer = new Canonicalizer(sink, exclusive, comments, inclusivePrefixes, options.exclude)

  if (options.apex != null) {
    writer.apex(options.apex)
    return
  }
  let seenRoot = false
  for (const node of doc.children) {
    if (node.kind === 'element') {
      writer.apex(node)
      seenRoot = true
      continue
    }
    if (node.kind === 'comment' && !comments) continue
    if (node.kind === 'text') continue
    // C14N §2.1: a node before the document element is followed by #xA, one after it is
    // preceded by #xA.
    if (seenRoot) sink('\n')
    writer.leaf(node)
    if (!seenRoot) sink('\n')
  }
}

/** Per-prefix stacks: the value in scope (or rendered) is the top; '' key is the default. */
export class ScopeStack {
  private readonly stacks = new Map<string, string[]>()

  get (prefix: string): string | undefined {
    const s = this.stacks.get(prefix)
    return s != null && s.length > 0 ? s[s.length - 1] : undefined
  }

  push (prefix: string, uri: string): void {
    let s = this.stacks.get(prefix)
    if (s == null) {
      s = []
      this.stacks.set(prefix, s)
    }
    s.push(uri)
  }

  pop (prefix: string): void {
    this.stacks.get(prefix)?.pop()
  }

  entries (): [string, string][] {
    const out: [string, string][] = []
    for (const [prefix, s] of this.stacks) if (s.length > 0) out.push([prefix, s[s.length - 1] as string])
    return out
  }
}

class Canonicalizer {
  /** Namespaces in scope in the input (every declaration of every ancestor). */
  private readonly scope = new ScopeStack()
  /** Namespaces as rendered on the output ancestors. */
  private readonly rendered = new ScopeStack()

  constructor (
    private readonly sink: C14nSink,
    private readonly exclusive: boolean,
    private readonly comments: boolean,
    private readonly inclusivePrefixes: ReadonlySet<string>,
    private readonly exclude: XmlElement | undefined
  ) {}

  /** Renders `apex` and its descendants as a subset whose apex has no output ancestor. */
  apex (apex: XmlElement): void {
    const ancestors: XmlElement[] = []
    for (let a = apex.parent; a != null; a = a.parent) ancestors.push(a)
    ancestors.reverse()
    for (const a of ancestors) for (const d of a.namespaces) this.scope.push(d.prefix, d.uri)
    // C14N 1.0 §2.4: an element whose parent is not in the node-set carries the xml:*
    // attributes of its nearest ancestors (its own win). Exclusive C14N drops this rule.
    let inherited: XmlAttribute[] = []
    if (!this.exclusive) {
      const byLocal = new Map<string, XmlAttribute>()
      for (let i = ancestors.length - 1; i >= 0; i--) {
        for (const a of (ancestors[i] as XmlElement).attributes) {
          if (a.uri === XML_NAMESPACE && !byLocal.has(a.local)) byLocal.set(a.local, a)
        }
      }
      inherited = [...byLocal.values()].filter((a) => !apex.attributes.some((own) => own.uri === XML_NAMESPACE && own.local === a.local))
    }
    this.element(apex, true, inherited)
  }

  leaf (node: Exclude<XmlNode, XmlElement>): void {
    switch (node.kind) {
      case 'text':
        // Buffer pieces are already canonical (the tokenizer only hands on slices without
        // "&", "<", ">" or CR): a base64 attachment goes to the hash without being decoded.
        for (const piece of node.pieces) this.sink(typeof piece === 'string' ? escapeText(piece) : piece)
        return
      case 'comment':
        if (this.comments) this.sink(`<!--${node.value}-->`)
        return
      case 'pi':
        this.sink(node.data === '' ? `<?${node.target}?>` : `<?${node.target} ${node.data}?>`)
    }
  }

  private element (element: XmlElement, isApex: boolean, inherited: XmlAttribute[]): void {
    if (element === this.exclude) return
    for (const d of element.namespaces) this.scope.push(d.prefix, d.uri)
    const declarations = this.exclusive ? this.exclusiveDeclarations(element) : this.inclusiveDeclarations(element, isApex)
    for (const [prefix, uri] of declarations) this.rendered.push(prefix, uri)

    const sink = this.sink
    sink('<')
    sink(element.qname)
    for (const [prefix, uri] of declarations) {
      sink(prefix === '' ? ' xmlns="' : ` xmlns:${prefix}="`)
      sink(escapeAttribute(uri))
      sink('"')
    }
    const attributes = inherited.length > 0 ? [...element.attributes, ...inherited] : element.attributes
    for (const a of attributes.length > 1 ? [...attributes].sort(compareAttributes) : attributes) {
      sink(' ')
      sink(a.qname)
      sink('="')
      sink(escapeAttribute(a.value))
      sink('"')
    }
    sink('>')
    for (const child of element.children) {
      if (child.kind === 'element') this.element(child, false, [])
      else this.leaf(child)
    }
    sink('</')
    sink(element.qname)
    sink('>')

    for (const [prefix] of declarations) this.rendered.pop(prefix)
    for (const d of element.namespaces) this.scope.pop(d.prefix)
  }

  /**
   * C14N 1.0 §2.3/4.7: a namespace node is rendered unless the nearest output ancestor has the
   * same one in scope; `xmlns=""` only when that ancestor had a non-empty default. With every
   * ancestor in the output only this element's own declarations can differ; at the apex every
   * namespace in scope is a candidate.
   */
  private inclusiveDeclarations (element: XmlElement, isApex: boolean): [string, string][] {
    const candidates: [string, string][] = isApex ? this.scope.entries() : element.namespaces.map((d) => [d.prefix, this.scope.get(d.prefix) as string])
    const out: [string, string][] = []
    const seen = new Set<string>()
    for (const [prefix, uri] of candidates) {
      if (seen.has(prefix)) continue
      seen.add(prefix)
      if (this.differsFromRendered(prefix, uri)) out.push([prefix, uri])
    }
    return out.sort(comparePrefixes)
  }

  /**
   * Exclusive C14N §3: only namespaces visibly utilised by this element (its own prefix, or the
   * default namespace for an unprefixed element, and its attributes' prefixes) plus those of the
   * InclusiveNamespaces PrefixList, each unless an output ancestor already rendered it.
   */
  private exclusiveDeclarations (element: XmlElement): [string, string][] {
    return visiblyUtilisedDeclarations(element.prefix, element.attributes, this.inclusivePrefixes, this.scope, this.rendered)
  }

  private differsFromRendered (prefix: string, uri: string): boolean {
    return differsFromRendered(this.rendered, prefix, uri)
  }
}

/**
 * Exclusive C14N §3, shared by this tree canonicalizer and the streaming one (stream-c14n.ts) so
 * the rule has one home: the namespaces visibly utilised by an element (its own prefix, or the
 * default namespace when unprefixed, and its attributes' prefixes) plus those of the
 * InclusiveNamespaces PrefixList, each unless an output ancestor already rendered it.
 */
export function visiblyUtilisedDeclarations (prefix: string, attributes: ReadonlyArray<{ prefix: string }>, inclusivePrefixes: ReadonlySet<string>, scope: ScopeStack, rendered: ScopeStack): [string, string][] {
  const utilised = new Set<string>([prefix])
  for (const a of attributes) if (a.prefix !== '' && a.prefix !== 'xml') utilised.add(a.prefix)
  // Bounded: the signature profile accepts at most 16 PrefixList entries (MAX_INCLUSIVE_PREFIXES).
  for (const p of inclusivePrefixes) if (p === '' || scope.get(p) !== undefined) utilised.add(p)
  const out: [string, string][] = []
  for (const utilisedPrefix of utilised) {
    if (utilisedPrefix === 'xml') continue
    const uri = scope.get(utilisedPrefix) ?? ''
    if (differsFromRendered(rendered, utilisedPrefix, uri)) out.push([utilisedPrefix, uri])
  }
  return out.length > 1 ? out.sort(comparePrefixes) : out
}

/** Whether declaring `prefix` = `uri` here changes what the nearest output ancestor rendered (xmlns="" only undoes a rendered default). */
export function differsFromRendered (rendered: ScopeStack, prefix: string, uri: string): boolean {
  const current = rendered.get(prefix)
  if (prefix === '' && uri === '') return current !== undefined && current !== ''
  return current !== uri
}

/** UTF-16 code units compared as code points (surrogates sort after U+E000..U+FFFF). */
export function compareCodePoints (a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    return fixup(x) - fixup(y)
  }
  return a.length - b.length
}

function fixup (unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000
  if (unit >= 0xe000) return unit - 0x800
  return unit
}

export function compareAttributes (a: XmlAttribute, b: XmlAttribute): number {
  return compareCodePoints(a.uri, b.uri) || compareCodePoints(a.local, b.local)
}

export function comparePrefixes (a: [string, string], b: [string, string]): number {
  return compareCodePoints(a[0], b[0])
}

const TEXT_SPECIALS = /[&<>\r]/
const ATTRIBUTE_SPECIALS = /[&<"\t\n\r]/

export function escapeText (value: string): string {
  // One-character pieces are how the tokenizer hands on `>`, line ends and references: a switch
  // instead of a regex replace with a callback (text of `a>` repeated cost 200 ms of CPU per MB,
  // 40x plain text; issue 15 review, V3).
  if (value.length === 1) {
    switch (value) {
      case '>': return '&gt;'
      case '&': return '&amp;'
      case '<': return '&lt;'
      case '\r': return '&#xD;'
      default: return value
    }
  }
  if (!TEXT_SPECIALS.test(value)) return value
  return value.replace(/[&<>\r]/g, (c) => c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xD;')
}

export function escapeAttribute (value: string): string {
  if (!ATTRIBUTE_SPECIALS.test(value)) return value
  return value.replace(/[&<"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c] as string)
}

const ATTRIBUTE_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' }
