import fc from 'fast-check'

// A seeded generator of namespace-well-formed XML 1.0 documents that exercise the corners where
// canonicalizers disagree (security.md, issue 9 F01 and "Found by differential testing"):
// processing instructions and comments inside and outside the root, CDATA, character and entity
// references (&#xD; &#x9; &#xA; in text and attributes, non-BMP characters), literal CR / LF / TAB,
// U+2028 and U+0085 (plain characters in XML 1.0), default and prefixed namespaces with rebinding,
// redeclaration to the same value and xmlns="" undeclaration, attributes whose prefixes and URIs
// sort differently (p:c in http://ab vs q:bc in http://a), prefixes differing only in case,
// ordinary attributes whose names start with "xmlns", xml:lang / xml:space / xml:base on
// ancestors, explicit xmlns:xml declarations, whitespace outside the root.
//
// The arbitrary draws a free-form tree; `serialize` then makes it namespace-well-formed (an unbound
// prefix gets a declaration on the element that uses it, duplicate declarations and attributes are
// dropped) and picks the lexical forms, so every generated document is one that libxml2 and a
// strict XML 1.0 + Namespaces parser both accept.

export const XML_NS = 'http://www.w3.org/XML/1998/namespace'

/** A piece of character data: literal characters, a predefined entity, or a character reference. */
type Piece = { lit: string } | { entity: 'amp' | 'lt' | 'gt' | 'quot' | 'apos' } | { char: number, hex: boolean }

interface GenAttribute { prefix: string, local: string, value: Piece[], quote: '"' | '\'', spaceBefore: string, eq: string }
interface GenDecl { prefix: string, uri: string, quote: '"' | '\'' }
interface GenElement {
  kind: 'element'
  prefix: string
  local: string
  decls: GenDecl[]
  attrs: GenAttribute[]
  /** Attributes in the xml namespace: xml:lang, xml:space, xml:base. */
  xmlAttrs: { local: 'lang' | 'space' | 'base', value: string }[]
  explicitXmlDecl: boolean
  children: GenNode[]
  selfClose: boolean
  endTagSpace: string
}
type GenNode = GenElement
  | { kind: 'text', pieces: Piece[] }
  | { kind: 'cdata', text: string }
  | { kind: 'comment', text: string }
  | { kind: 'pi', target: string, data: string | null, sep: string }
type Misc = { kind: 'ws', text: string } | { kind: 'comment', text: string } | { kind: 'pi', target: string, data: string | null, sep: string }

export interface GeneratedDocument {
  xml: Buffer
  /** Element paths (indices among element children, from the root) for the node-set cases. */
  excludePath: number[] | undefined
  apexPath: number[]
  /** InclusiveNamespaces PrefixList for the exclusive-C14N case. */
  inclusivePrefixes: string[]
}

const PREFIXES = ['a', 'A', 'B', 'b', 'p', 'q', 'ds', 'edXML', 'ns0']
const URIS = [
  'http://a', 'http://ab', 'http://a/b', 'http://b', 'urn:x', 'urn:X', 'http://A',
  'http://www.w3.org/2000/09/xmldsig#', 'http://www.mic.gov.vn/TBT/QCVN_102_2016',
  'urn:oid:1.2.840'
]
/**
 * A namespace name with a predefined entity: libxml2 writes namespace values unescaped (C14N says
 * they are escaped like attribute values), so this one is drawn rarely, not to drown other classes.
 */
const AMP_URI = 'http://example.com/?q=1&amp;r=2'
const ELEMENT_NAMES = ['a', 'b', 'B', 'doc', 'SignedInfo', 'Tên', 'x-y', 'x.y', 'é', '_u', 'n0', 'OrganId']
const ATTRIBUTE_NAMES = ['a', 'b', 'c', 'bc', 'B', 'Id', 'xmlnsX', 'xmlns-x', 'xmlns0', 'xmlns.a', 'xmlns-OrganId', 'é', 'lang', 'z']
const PI_TARGETS = ['x', 'pi', 'xml-stylesheet', 'Xm', 'a.b', 'tên', 'xmlfoo']

const LITERALS = [
  'a', 'b', 'Z', ' ', '  ', '\t', '\n', '\r', '\r\n', '\n\r', '>', '"', '\'', ']', ']]', '=', '/', '?', '-',
  'é', 'Đ', 'ư', '\u2028', '\u0085', '\u00A0', '\u3000', '😀', '\u{10FFFD}', '\uFFFD', '\u200B', 'xmlns', 'Tiếng Việt'
]
const CHAR_REFS = [0x9, 0xA, 0xD, 0x20, 0x3C, 0x26, 0x3E, 0x22, 0x27, 0x85, 0x2028, 0xE9, 0x1F600, 0x10FFFF, 0xA0, 0x7F]

const piece: fc.Arbitrary<Piece> = fc.oneof(
  { arbitrary: fc.constantFrom(...LITERALS).map((lit) => ({ lit })), weight: 6 },
  { arbitrary: fc.constantFrom('amp', 'lt', 'gt', 'quot', 'apos' as const).map((entity) => ({ entity })), weight: 1 },
  { arbitrary: fc.record({ char: fc.constantFrom(...CHAR_REFS), hex: fc.boolean() }), weight: 2 }
)
const pieces = fc.array(piece, { minLength: 1, maxLength: 8 })
const literalText = fc.array(fc.constantFrom(...LITERALS, '<', '&', '<!--', ']]>', '?>', '--'), { maxLength: 6 }).map((a) => a.join(''))

const attribute: fc.Arbitrary<GenAttribute> = fc.record({
  prefix: fc.oneof({ arbitrary: fc.constant(''), weight: 2 }, { arbitrary: fc.constantFrom(...PREFIXES), weight: 3 }),
  local: fc.constantFrom(...ATTRIBUTE_NAMES),
  value: fc.array(piece, { maxLength: 6 }),
  quote: fc.constantFrom('"', '\'' as const),
  spaceBefore: fc.constantFrom(' ', ' ', '\n', '\t', '\r\n  '),
  eq: fc.constantFrom('=', '=', ' = ', '\t=\n')
})
const decl: fc.Arbitrary<GenDecl> = fc.record({
  prefix: fc.oneof({ arbitrary: fc.constant(''), weight: 1 }, { arbitrary: fc.constantFrom(...PREFIXES), weight: 3 }),
  uri: fc.oneof({ arbitrary: fc.constantFrom(...URIS), weight: 40 }, { arbitrary: fc.constant(''), weight: 5 }, { arbitrary: fc.constant(AMP_URI), weight: 1 }),
  quote: fc.constantFrom('"', '\'' as const)
})
const xmlAttr = fc.oneof(
  fc.record({ local: fc.constant('lang' as const), value: fc.constantFrom('vi', 'en', '', 'vi-VN') }),
  fc.record({ local: fc.constant('space' as const), value: fc.constantFrom('preserve', 'default') }),
  fc.record({ local: fc.constant('base' as const), value: fc.constantFrom('http://example.com/a/', 'b/c', '') })
)
const pi = fc.record({
  kind: fc.constant('pi' as const),
  target: fc.constantFrom(...PI_TARGETS),
  data: fc.option(literalText, { nil: null, freq: 3 }),
  sep: fc.constantFrom(' ', '   ', '\t', '\n', '\r\n')
})
const comment = fc.record({ kind: fc.constant('comment' as const), text: literalText })

const { element } = fc.letrec<{ element: GenElement, node: GenNode }>((tie) => ({
  element: fc.record({
    kind: fc.constant('element' as const),
    prefix: fc.oneof({ arbitrary: fc.constant(''), weight: 2 }, { arbitrary: fc.constantFrom(...PREFIXES), weight: 2 }),
    local: fc.constantFrom(...ELEMENT_NAMES),
    decls: fc.array(decl, { maxLength: 3 }),
    attrs: fc.array(attribute, { maxLength: 4 }),
    xmlAttrs: fc.array(xmlAttr, { maxLength: 2 }),
    explicitXmlDecl: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    children: fc.array(tie('node'), { maxLength: 5 }),
    selfClose: fc.boolean(),
    endTagSpace: fc.constantFrom('', '', '', ' ', '\t', '\n', ' \r\n')
  }),
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    { arbitrary: fc.record({ kind: fc.constant('text' as const), pieces }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('cdata' as const), text: literalText }), weight: 1 },
    { arbitrary: comment, weight: 1 },
    { arbitrary: pi, weight: 1 },
    { arbitrary: tie('element'), weight: 4 }
  ) as fc.Arbitrary<GenNode>
}))

const misc: fc.Arbitrary<Misc> = fc.oneof(
  fc.record({ kind: fc.constant('ws' as const), text: fc.constantFrom(' ', '\n', '\r\n', '\t\n  ', '\n\n') }),
  comment,
  pi
)

const documentArbitrary = fc.record({
  bom: fc.boolean().chain((b) => b ? fc.boolean() : fc.constant(false)),
  declaration: fc.constantFrom(
    '', '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version=\'1.0\' encoding=\'utf-8\' standalone=\'yes\'?>',
    '<?xml version="1.0" standalone="no" ?>'
  ),
  before: fc.array(misc, { maxLength: 4 }),
  root: element,
  after: fc.array(misc, { maxLength: 4 }),
  excludePick: fc.nat(),
  apexPick: fc.nat(),
  prefixPick: fc.subarray(['#default', ...PREFIXES, 'xml', 'nope'], { maxLength: 4 })
})

export type DocumentPlan = typeof documentArbitrary extends fc.Arbitrary<infer T> ? T : never

export const documents: fc.Arbitrary<GeneratedDocument> = documentArbitrary.map(serialize)

// ---- serialization -------------------------------------------------------------------------

function charRef (cp: number, hex: boolean): string {
  return hex ? `&#x${cp.toString(16).toUpperCase()};` : `&#${cp};`
}

function renderPieces (ps: Piece[], quote: string | undefined): string {
  let out = ''
  for (const p of ps) {
    if ('lit' in p) {
      let s = p.lit
      if (quote !== undefined) s = s.replaceAll(quote, quote === '"' ? '&quot;' : '&apos;')
      out += s
    } else if ('entity' in p) {
      out += `&${p.entity};`
    } else {
      out += charRef(p.char, p.hex)
    }
  }
  // "]]>" may not appear literally in content.
  return quote === undefined ? out.replaceAll(']]>', ']]&gt;') : out
}

/** Literal text made safe for a place: no markup characters, no terminator of the construct. */
function clean (s: string, where: 'comment' | 'pi' | 'cdata'): string {
  if (where === 'comment') {
    let t = s
    while (t.includes('--')) t = t.replaceAll('--', '- -')
    if (t.endsWith('-')) t += ' '
    return t
  }
  if (where === 'pi') {
    let t = s
    while (t.includes('?>')) t = t.replaceAll('?>', '? >')
    return t
  }
  let t = s
  while (t.includes(']]>')) t = t.replaceAll(']]>', ']] >')
  return t
}

function renderPi (n: { target: string, data: string | null, sep: string }): string {
  if (n.data === null) return `<?${n.target}?>`
  return `<?${n.target}${n.sep}${clean(n.data, 'pi')}?>`
}

function renderMisc (n: Misc): string {
  if (n.kind === 'ws') return n.text
  if (n.kind === 'comment') return `<!--${clean(n.text, 'comment')}-->`
  return renderPi(n)
}

function pickUri (seed: string): string {
  let h = 0
  for (const c of seed) h = (h * 31 + c.codePointAt(0)!) >>> 0
  return URIS[h % URIS.length]!
}

function escapeAttr (value: string, quote: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll(quote, quote === '"' ? '&quot;' : '&apos;')
}

interface Scope { prefixes: Map<string, string> }

function renderElement (el: GenElement, scope: Scope, paths: number[][], path: number[]): string {
  paths.push(path)
  const inScope = new Map(scope.prefixes)
  const decls: GenDecl[] = []
  const declared = new Set<string>()
  for (const d of el.decls) {
    if (declared.has(d.prefix)) continue
    // xmlns:p="" is not namespace-well-formed in XML 1.0; undeclaring is for the default only.
    const uri = d.prefix !== '' && d.uri === '' ? pickUri(d.prefix + el.local) : d.uri.replaceAll('&amp;', '&')
    declared.add(d.prefix)
    decls.push({ ...d, uri })
    inScope.set(d.prefix, uri)
  }
  const bind = (prefix: string): void => {
    if (prefix === '' || (inScope.has(prefix) && inScope.get(prefix) !== '')) return
    const uri = pickUri(prefix + path.join('.'))
    decls.push({ prefix, uri, quote: '"' })
    declared.add(prefix)
    inScope.set(prefix, uri)
  }
  bind(el.prefix)
  const attrs: GenAttribute[] = []
  const qnames = new Set<string>()
  const expanded = new Set<string>()
  for (const a of el.attrs) {
    bind(a.prefix)
    const qname = a.prefix === '' ? a.local : `${a.prefix}:${a.local}`
    const exp = `${a.prefix === '' ? '' : inScope.get(a.prefix)}}${a.local}`
    if (qnames.has(qname) || expanded.has(exp)) continue
    qnames.add(qname)
    expanded.add(exp)
    attrs.push(a)
  }
  const xmlAttrs = new Map<string, string>()
  for (const a of el.xmlAttrs) if (!xmlAttrs.has(a.local)) xmlAttrs.set(a.local, a.value)

  const name = el.prefix === '' ? el.local : `${el.prefix}:${el.local}`
  // Interleave declarations, attributes and xml:* in an order derived from the plan, so that
  // document order never matches canonical order by accident.
  const items: string[] = []
  for (const d of decls) items.push(` ${d.prefix === '' ? 'xmlns' : 'xmlns:' + d.prefix}=${d.quote}${escapeAttr(d.uri, d.quote)}${d.quote}`)
  for (const a of attrs) {
    const qname = a.prefix === '' ? a.local : `${a.prefix}:${a.local}`
    items.push(`${a.spaceBefore}${qname}${a.eq}${a.quote}${renderPieces(a.value, a.quote).replaceAll('<', '&lt;')}${a.quote}`)
  }
  for (const [local, value] of xmlAttrs) items.push(` xml:${local}="${escapeAttr(value, '"')}"`)
  if (el.explicitXmlDecl) items.push(` xmlns:xml="${XML_NS}"`)
  const rotate = (el.local.length + attrs.length * 3 + decls.length) % (items.length || 1)
  const ordered = [...items.slice(rotate), ...items.slice(0, rotate)]
  if (el.local.length % 2 === 0) ordered.reverse()
  const start = `<${name}${ordered.join('')}`

  const inner = { prefixes: inScope }
  let content = ''
  let elementIndex = 0
  for (const c of el.children) {
    switch (c.kind) {
      case 'element': content += renderElement(c, inner, paths, [...path, elementIndex++]); break
      case 'text': content += renderPieces(c.pieces, undefined); break
      case 'cdata': content += `<![CDATA[${clean(c.text, 'cdata')}]]>`; break
      case 'comment': content += `<!--${clean(c.text, 'comment')}-->`; break
      case 'pi': content += renderPi(c); break
    }
  }
  if (content === '' && el.selfClose) return `${start}${el.endTagSpace.replaceAll('\r', '')}/>`
  return `${start}${el.endTagSpace}>${content}</${name}${el.endTagSpace}>`
}

export function serialize (plan: DocumentPlan): GeneratedDocument {
  const paths: number[][] = []
  let xml = plan.declaration
  const before = plan.before.map(renderMisc).join('')
  // Nothing may precede the XML declaration; whitespace may follow it.
  xml += before
  xml += renderElement(plan.root, { prefixes: new Map([['xml', XML_NS]]) }, paths, [])
  xml += plan.after.map(renderMisc).join('')
  const nonRoot = paths.filter((p) => p.length > 0)
  return {
    xml: Buffer.concat([plan.bom ? Buffer.from([0xEF, 0xBB, 0xBF]) : Buffer.alloc(0), Buffer.from(xml, 'utf8')]),
    excludePath: nonRoot.length > 0 ? nonRoot[plan.excludePick % nonRoot.length] : undefined,
    apexPath: paths[plan.apexPick % paths.length]!,
    inclusivePrefixes: plan.prefixPick
  }
}

/** `count` documents from `seed`, deterministically. */
export function sampleDocuments (seed: number, count: number): GeneratedDocument[] {
  return fc.sample(documents, { seed, numRuns: count })
}
