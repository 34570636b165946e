import { isUtf8 } from 'node:buffer'
import { ASCII_NAME, decodeUtf8At, isNameCodePoint, isNameStartCodePoint, isXmlChar } from './xml-names.js'
import { XML_NAMESPACE, type XmlAttribute, type XmlDeclaration, type XmlNamespaceDeclaration } from './xml-tree.js'

export type XmlRefusalCode =
  | 'XML_MALFORMED'
  | 'XML_DTD_FORBIDDEN'
  | 'XML_TOO_DEEP'
  | 'XML_PI_FORBIDDEN'
  | 'XML_LIMIT_EXCEEDED'
  | 'XML_DECLARATION_UNSUPPORTED'

/** Why strict parsing refused the input; `code` is a verification reason code. */
export class XmlRefusal extends Error {
  constructor (readonly code: XmlRefusalCode, message: string) {
    super(message)
    this.name = 'XmlRefusal'
  }
}

export interface ParseLimits {
  /** Deepest element nesting accepted. Real edXML is under 10 levels deep. */
  maxDepth: number
  /** Elements in the whole document. Real edXML has a few hundred; attachments are base64 text. */
  maxElements: number
  /** Attributes plus namespace declarations on one element. */
  maxAttributes: number
  /** Characters in one element or attribute name. */
  maxNameLength: number
  /** Characters in one attribute value. */
  maxAttributeValueLength: number
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxDepth: 64,
  maxElements: 100_000,
  maxAttributes: 64,
  maxNameLength: 256,
  maxAttributeValueLength: 65_536
}

/** An element's start tag, its names resolved against the namespaces in scope. */
export interface StartTag {
  qname: string
  prefix: string
  local: string
  uri: string
  attributes: XmlAttribute[]
  namespaces: XmlNamespaceDeclaration[]
}

/**
 * What the tokenizer reports, in document order. Text arrives in pieces: a `Buffer` piece is a
 * slice of the input that is its own canonical form (no `&`, `<`, `>` or CR in it), a string
 * piece is decoded text (references resolved, CDATA, line ends normalised) that C14N escapes.
 */
export interface XmlTokenHandler {
  declaration: (decl: XmlDeclaration) => void
  startElement: (tag: StartTag) => void
  /** `end` is the byte offset just after the end tag (or the `/>`). */
  endElement: (end: number) => void
  text: (piece: Buffer | string) => void
  comment: (value: string) => void
  processingInstruction: (target: string, data: string) => void
}

export interface TokenizerOptions {
  limits: ParseLimits
  /** edXML, status messages and receipts have no use for PIs, so verified input refuses them. */
  keepProcessingInstructions: boolean
}

// A namespace name must be an absolute URI (Namespaces 1.0 deprecates relative ones and C14N
// refuses to canonicalise them: libxml2 fails, so such a document can never be verified
// elsewhere), written with RFC 3986 characters only. `&` is refused too, although RFC 3986 allows
// it: libxml2 renders it unescaped in canonical namespace declarations where the C14N spec (and
// Santuario) escape it, so two conforming verifiers would digest different bytes. Where
// implementations disagree, the hub refuses (test/xmldsig/c14n-libxml2-differential.test.ts).
const NAMESPACE_NAME = /^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#[\]@!$'()*+,;=]|%[0-9A-Fa-f]{2})*$/
const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/'

const LT = 0x3c
const GT = 0x3e
const AMP = 0x26
const CR = 0x0d
const LF = 0x0a
const TAB = 0x09
const SP = 0x20
const QUOT = 0x22
const APOS = 0x27
const SLASH = 0x2f
const QM = 0x3f
const EXCL = 0x21
const COLON = 0x3a
const SEMI = 0x3b
const RSQB = 0x5d

/**
 * Bytes a text run cannot simply pass over: 1 ends the run (`<`, `&`), 2 needs a closer look
 * (`>`: `]]>` and C14N escaping; CR: line-end normalisation; 0xEF: U+FFFE/U+FFFF), 3 is a
 * control character XML 1.0 forbids.
 */
const TEXT_CLASS = new Uint8Array(256)
for (let c = 0; c < 0x20; c++) TEXT_CLASS[c] = 3
TEXT_CLASS[TAB] = 0
TEXT_CLASS[LF] = 0
TEXT_CLASS[CR] = 2
TEXT_CLASS[LT] = 1
TEXT_CLASS[AMP] = 1
TEXT_CLASS[GT] = 2
TEXT_CLASS[0xef] = 2

const isSpace = (c: number | undefined): boolean => c === SP || c === LF || c === TAB || c === CR

const NO_DECLARATIONS: XmlNamespaceDeclaration[] = []
/** Recently seen ASCII names, by a hash of their bytes: most names repeat, decoding them each time is most of a small element's cost. */
const NAME_CACHE_SIZE = 512

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' }

/**
 * A strict XML 1.0 (fifth edition) + Namespaces 1.0 (third edition) tokenizer working on the
 * bytes themselves, in one forward pass: every well-formedness and namespace constraint, the
 * XML declaration rules (version 1.0, UTF-8 only), no DOCTYPE, no PIs unless kept, and the
 * depth, element, attribute and name/value bounds are checked at the byte where they are
 * broken, so hostile input costs no more than the bytes up to its first fault.
 *
 * Written for speed on what signed documents carry: long text runs (base64 attachments) are
 * scanned with one table lookup per byte and handed on as slices of the input, never decoded
 * or copied; only names, attribute values and short texts become strings.
 */
export class XmlTokenizer {
  private i = 0
  private depth = 0
  private elements = 0
  /** Namespace bindings in scope, per prefix ('' = default), innermost last. */
  private readonly scope = new Map<string, string[]>()
  private readonly openNames: string[] = []
  private readonly openDeclared: XmlNamespaceDeclaration[][] = []
  private readonly names: (string | undefined)[] = new Array<string | undefined>(NAME_CACHE_SIZE)

  constructor (private readonly b: Buffer, private readonly handler: XmlTokenHandler, private readonly options: TokenizerOptions) {}

  run (): void {
    const b = this.b
    if (!isUtf8(b)) this.fail('XML_MALFORMED', 'the bytes are not valid UTF-8', 0)
    // One byte-order mark is the encoding signature; a second one is text outside the root.
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.i = 3
    if (this.startsWith('<?xml') && isSpace(b[this.i + 5])) this.xmlDeclaration()
    this.misc('prolog')
    if (this.i >= b.length) this.fail('XML_MALFORMED', 'the document has no root element')
    this.element()
    this.misc('epilog')
  }

  /** Comments, PIs and white space before or after the root element; in the prolog, DOCTYPE. */
  private misc (where: 'prolog' | 'epilog'): void {
    const b = this.b
    const n = b.length
    while (this.i < n) {
      const c = b[this.i] as number
      if (isSpace(c)) {
        this.i++
        continue
      }
      if (c !== LT) this.fail('XML_MALFORMED', where === 'prolog' ? 'text before the root element' : 'text after the root element')
      const next = b[this.i + 1]
      if (next === QM) {
        this.processingInstruction()
      } else if (next === EXCL) {
        if (this.startsWith('<!--')) this.comment()
        else if (this.startsWith('<!DOCTYPE') && where === 'prolog') this.fail('XML_DTD_FORBIDDEN', 'DOCTYPE declarations are not accepted')
        else this.fail('XML_MALFORMED', `unexpected markup ${where === 'prolog' ? 'before' : 'after'} the root element`)
      } else if (where === 'prolog') {
        return
      } else {
        this.fail('XML_MALFORMED', 'more than one root element')
      }
    }
  }

  private xmlDeclaration (): void {
    const b = this.b
    this.i += 5
    const pseudo = (name: string, required: boolean): string | undefined => {
      const save = this.i
      const hadSpace = this.skipSpaces()
      if (!this.startsWith(name)) {
        this.i = save
        if (required) this.fail('XML_MALFORMED', `the XML declaration must start with ${name}`)
        return undefined
      }
      if (!hadSpace) this.fail('XML_MALFORMED', `white space is required before ${name} in the XML declaration`)
      this.i += name.length
      this.skipSpaces()
      if (b[this.i] !== 0x3d) this.fail('XML_MALFORMED', `"=" expected after ${name} in the XML declaration`)
      this.i++
      this.skipSpaces()
      const q = b[this.i]
      if (q !== QUOT && q !== APOS) this.fail('XML_MALFORMED', `a quoted value is expected for ${name} in the XML declaration`)
      const end = b.indexOf(q as number, this.i + 1)
      if (end < 0) this.fail('XML_MALFORMED', 'unterminated XML declaration')
      const value = b.toString('latin1', this.i + 1, end)
      this.i = end + 1
      return value
    }
    const version = pseudo('version', true) as string
    if (!/^1\.[0-9]+$/.test(version)) this.fail('XML_MALFORMED', `XML version ${JSON.stringify(version.slice(0, 20))} is not a version number`)
    if (version !== '1.0') this.fail('XML_DECLARATION_UNSUPPORTED', `XML version ${JSON.stringify(version)} is not accepted; only XML 1.0`)
    const encoding = pseudo('encoding', false)
    if (encoding !== undefined) {
      if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(encoding)) this.fail('XML_MALFORMED', `encoding name ${JSON.stringify(encoding.slice(0, 40))} is malformed`)
      if (encoding.toLowerCase() !== 'utf-8') this.fail('XML_DECLARATION_UNSUPPORTED', `encoding ${JSON.stringify(encoding)} is not accepted; only UTF-8`)
    }
    const standalone = pseudo('standalone', false)
    if (standalone !== undefined && standalone !== 'yes' && standalone !== 'no') this.fail('XML_MALFORMED', 'standalone must be "yes" or "no"')
    this.skipSpaces()
    if (!this.startsWith('?>')) this.fail('XML_MALFORMED', 'the XML declaration is not closed by "?>"')
    this.i += 2
    this.handler.declaration({ version, ...(encoding !== undefined ? { encoding } : {}), ...(standalone !== undefined ? { standalone } : {}) })
  }

  private processingInstruction (): void {
    const b = this.b
    const start = this.i
    this.i += 2
    const target = this.name('processing instruction target')
    if (target.includes(':')) this.fail('XML_MALFORMED', 'a processing instruction target must not contain a colon', start)
    if (target.toLowerCase() === 'xml') this.fail('XML_MALFORMED', 'an XML declaration is only allowed at the start of the document', start)
    if (!this.options.keepProcessingInstructions) this.fail('XML_PI_FORBIDDEN', `processing instruction <?${target.slice(0, 40)}…?> is not accepted`, start)
    const end = b.indexOf('?>', this.i, 'latin1')
    if (end < 0) this.fail('XML_MALFORMED', 'unterminated processing instruction')
    let data = ''
    if (end > this.i) {
      if (!isSpace(b[this.i])) this.fail('XML_MALFORMED', 'white space is required after a processing instruction target')
      let s = this.i
      while (s < end && isSpace(b[s])) s++
      data = this.decodeChars(s, end, 'processing instruction')
    }
    this.i = end + 2
    this.handler.processingInstruction(target, data)
  }

  private comment (): void {
    const b = this.b
    const start = this.i + 4
    const end = b.indexOf('--', start, 'latin1')
    if (end < 0) this.fail('XML_MALFORMED', 'unterminated comment')
    if (b[end + 2] !== GT) this.fail('XML_MALFORMED', '"--" is not allowed inside a comment', end)
    const value = this.decodeChars(start, end, 'comment')
    this.i = end + 3
    this.handler.comment(value)
  }

  /** The root element and everything in it, iteratively (depth is bounded, but never the stack). */
  private element (): void {
    const b = this.b
    const n = b.length
    this.startTag()
    while (this.depth > 0) {
      if (this.i >= n) this.fail('XML_MALFORMED', `unclosed element <${this.openNames[this.openNames.length - 1] ?? ''}>`)
      const c = b[this.i] as number
      if (c === LT) {
        const next = b[this.i + 1]
        if (next === SLASH) this.endTag()
        else if (next === QM) this.processingInstruction()
        else if (next === EXCL) {
          if (this.startsWith('<!--')) this.comment()
          else if (this.startsWith('<![CDATA[')) this.cdata()
          else if (this.startsWith('<!DOCTYPE')) this.fail('XML_DTD_FORBIDDEN', 'DOCTYPE declarations are not accepted')
          else this.fail('XML_MALFORMED', 'unexpected "<!" in content')
        } else this.startTag()
      } else if (c === AMP) {
        this.handler.text(this.reference())
      } else {
        this.textRun()
      }
    }
  }

  /**
   * Character data up to the next `<` or `&`, handed on as slices of the input that are their
   * own canonical form: a line end (CR LF or CR, normalised to LF) and `>` (which C14N writes as
   * `&gt;`) are handed on as one-character strings between slices, so a long text with CR LF line
   * ends (base64 as mail programs write it) is never decoded or copied either.
   */
  private textRun (): void {
    const b = this.b
    const n = b.length
    const runStart = this.i
    let start = runStart
    let j = start
    for (; j < n; j++) {
      const k = TEXT_CLASS[b[j] as number]
      if (k === 0) continue
      if (k === 1) break
      if (k === 3) this.fail('XML_MALFORMED', `character U+${(b[j] as number).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, j)
      const c = b[j]
      if (c === GT) {
        if (j - runStart >= 2 && b[j - 1] === RSQB && b[j - 2] === RSQB) this.fail('XML_MALFORMED', '"]]>" is not allowed in text', j - 2)
        if (j > start) this.handler.text(b.subarray(start, j))
        this.handler.text('>')
        start = j + 1
      } else if (c === CR) {
        if (j > start) this.handler.text(b.subarray(start, j))
        this.handler.text('\n')
        // CR LF is one line end.
        if (b[j + 1] === LF) j++
        start = j + 1
      } else if (b[j + 1] === 0xbf && (b[j + 2] === 0xbe || b[j + 2] === 0xbf)) {
        this.fail('XML_MALFORMED', 'character U+FFFE or U+FFFF is not allowed in XML', j)
      }
    }
    this.i = j
    if (j > start) this.handler.text(b.subarray(start, j))
  }

  private cdata (): void {
    const b = this.b
    const start = this.i + 9
    const end = b.indexOf(']]>', start, 'latin1')
    if (end < 0) this.fail('XML_MALFORMED', 'unterminated CDATA section')
    const value = this.decodeChars(start, end, 'CDATA section')
    this.i = end + 3
    if (value !== '') this.handler.text(value)
  }

  /** `&name;` (the five predefined entities only: there is no DTD) or a character reference. */
  private reference (): string {
    const b = this.b
    const start = this.i
    const semi = b.indexOf(SEMI, start + 1)
    if (semi < 0 || semi - start > 12) this.fail('XML_MALFORMED', 'unterminated or malformed reference')
    const body = b.toString('latin1', start + 1, semi)
    this.i = semi + 1
    if (body.charCodeAt(0) === 0x23) {
      const hex = body.charCodeAt(1) === 0x78
      const digits = body.slice(hex ? 2 : 1)
      if (!(hex ? /^[0-9A-Fa-f]+$/ : /^[0-9]+$/).test(digits)) this.fail('XML_MALFORMED', `malformed character reference &${body};`, start)
      const cp = parseInt(digits, hex ? 16 : 10)
      if (!isXmlChar(cp)) this.fail('XML_MALFORMED', `character reference &${body}; is not an XML character`, start)
      return String.fromCodePoint(cp)
    }
    const value = PREDEFINED[body]
    if (value === undefined) this.fail('XML_MALFORMED', `undefined entity &${body.slice(0, 40)};`, start)
    return value
  }

  private startTag (): void {
    const b = this.b
    const { limits } = this.options
    const start = this.i
    if (this.depth + 1 > limits.maxDepth) this.fail('XML_TOO_DEEP', `elements are nested more than ${limits.maxDepth} levels deep`)
    if (this.elements + 1 > limits.maxElements) this.fail('XML_LIMIT_EXCEEDED', `more than ${limits.maxElements} elements`)
    this.i++
    const qname = this.name('element name')
    const raw: [string, string][] = []
    for (;;) {
      const hadSpace = this.skipSpaces()
      const c = b[this.i]
      if (c === GT || c === SLASH) break
      if (c === undefined) this.fail('XML_MALFORMED', `unterminated start tag <${qname}>`)
      if (!hadSpace) this.fail('XML_MALFORMED', `white space is required between attributes of <${qname}>`)
      const name = this.name('attribute name')
      if (raw.length + 1 > limits.maxAttributes) this.fail('XML_LIMIT_EXCEEDED', `an element has more than ${limits.maxAttributes} attributes`)
      this.skipSpaces()
      if (b[this.i] !== 0x3d) this.fail('XML_MALFORMED', `"=" expected after attribute ${name}`)
      this.i++
      this.skipSpaces()
      const value = this.attributeValue()
      for (const [other] of raw) if (other === name) this.fail('XML_MALFORMED', `attribute ${name} is repeated on <${qname}>`)
      raw.push([name, value])
    }
    let selfClosing = false
    if (b[this.i] === SLASH) {
      if (b[this.i + 1] !== GT) this.fail('XML_MALFORMED', `"/>" expected in <${qname}>`)
      selfClosing = true
      this.i += 2
    } else {
      this.i++
    }
    this.elements++
    this.depth++
    const tag = this.resolve(qname, raw, start)
    this.openNames.push(qname)
    this.handler.startElement(tag)
    if (selfClosing) this.close()
  }

  private endTag (): void {
    const b = this.b
    const start = this.i
    this.i += 2
    const qname = this.name('end tag name')
    this.skipSpaces()
    if (b[this.i] !== GT) this.fail('XML_MALFORMED', `">" expected in end tag </${qname}>`)
    this.i++
    const open = this.openNames[this.openNames.length - 1]
    if (open !== qname) this.fail('XML_MALFORMED', `end tag </${qname}> does not match <${open ?? ''}>`, start)
    this.close()
  }

  private close (): void {
    this.openNames.pop()
    const declared = this.openDeclared.pop()
    if (declared !== undefined && declared.length > 0) for (const d of declared) this.scope.get(d.prefix)?.pop()
    this.depth--
    this.handler.endElement(this.i)
  }

  /** Namespaces 1.0: declarations take effect on their own element; every prefix is declared. */
  private resolve (qname: string, raw: [string, string][], at: number): StartTag {
    const colon = qname.indexOf(':')
    const prefix = colon < 0 ? '' : qname.slice(0, colon)
    const local = colon < 0 ? qname : qname.slice(colon + 1)
    if (raw.length === 0) {
      // The common case (most elements carry no attribute): nothing to declare or resolve.
      this.openDeclared.push(NO_DECLARATIONS)
      const uri = prefix === '' ? this.lookup('') : prefix === 'xml' ? XML_NAMESPACE : prefix === 'xmlns' ? undefined : this.lookup(prefix)
      if (uri === undefined) this.fail('XML_MALFORMED', prefix === 'xmlns' ? `element <${qname}> must not use the xmlns prefix` : `unbound namespace prefix ${JSON.stringify(prefix)} on <${qname}>`, at)
      return { qname, prefix, local, uri, attributes: [], namespaces: NO_DECLARATIONS }
    }
    const namespaces: XmlNamespaceDeclaration[] = []
    const ordinary: [string, string, string, string][] = []
    for (const [name, value] of raw) {
      const colon = name.indexOf(':')
      const prefix = colon < 0 ? '' : name.slice(0, colon)
      const local = colon < 0 ? name : name.slice(colon + 1)
      if (name === 'xmlns' || prefix === 'xmlns') {
        const declared = prefix === 'xmlns' ? local : ''
        if (declared === 'xmlns') this.fail('XML_MALFORMED', 'the xmlns prefix must not be declared', at)
        if (declared === 'xml') {
          // xmlns:xml may only repeat the fixed binding; it is a no-op.
          if (value !== XML_NAMESPACE) this.fail('XML_MALFORMED', 'the xml prefix must be bound to its own namespace', at)
          continue
        }
        if (value === XML_NAMESPACE || value === XMLNS_NAMESPACE) this.fail('XML_MALFORMED', `${name} must not be bound to a reserved namespace`, at)
        if (value === '' && declared !== '') this.fail('XML_MALFORMED', `${name}="" does not undeclare a prefix in XML 1.0`, at)
        if (value !== '' && !NAMESPACE_NAME.test(value)) {
          this.fail('XML_MALFORMED', `namespace name ${JSON.stringify(value.slice(0, 80))} is not an absolute URI of RFC 3986 characters (without "&")`, at)
        }
        namespaces.push({ prefix: declared, uri: value })
      } else {
        ordinary.push([name, prefix, local, value])
      }
    }
    for (const d of namespaces) {
      let s = this.scope.get(d.prefix)
      if (s == null) {
        s = []
        this.scope.set(d.prefix, s)
      }
      s.push(d.uri)
    }
    this.openDeclared.push(namespaces)

    if (prefix === 'xmlns') this.fail('XML_MALFORMED', `element <${qname}> must not use the xmlns prefix`, at)
    const uri = prefix === 'xml' ? XML_NAMESPACE : this.lookup(prefix)
    if (uri === undefined) this.fail('XML_MALFORMED', `unbound namespace prefix ${JSON.stringify(prefix)} on <${qname}>`, at)

    const attributes: XmlAttribute[] = []
    for (const [name, aPrefix, aLocal, value] of ordinary) {
      let aUri = ''
      if (aPrefix === 'xml') aUri = XML_NAMESPACE
      else if (aPrefix !== '') {
        const bound = this.lookup(aPrefix)
        if (bound === undefined || bound === '') this.fail('XML_MALFORMED', `unbound namespace prefix ${JSON.stringify(aPrefix)} on attribute ${name}`, at)
        aUri = bound
      }
      if (aUri !== '') {
        for (const other of attributes) if (other.uri === aUri && other.local === aLocal) this.fail('XML_MALFORMED', `attribute {${aUri}}${aLocal} is repeated on <${qname}>`, at)
      }
      attributes.push({ qname: name, prefix: aPrefix, local: aLocal, uri: aUri, value })
    }
    return { qname, prefix, local, uri: uri ?? '', attributes, namespaces }
  }

  private lookup (prefix: string): string | undefined {
    const s = this.scope.get(prefix)
    const uri = s != null && s.length > 0 ? s[s.length - 1] : undefined
    if (prefix === '') return uri ?? ''
    return uri
  }

  /** AttValue with XML 1.0 §3.3.3 normalisation (CDATA attributes: every white space is a space). */
  private attributeValue (): string {
    const b = this.b
    const q = b[this.i]
    if (q !== QUOT && q !== APOS) this.fail('XML_MALFORMED', 'an attribute value must be quoted')
    const start = this.i + 1
    const end = b.indexOf(q as number, start)
    if (end < 0) this.fail('XML_MALFORMED', 'unterminated attribute value')
    const max = this.options.limits.maxAttributeValueLength
    let out = ''
    let from = start
    for (let j = start; j < end; j++) {
      const c = b[j] as number
      if (c >= 0x20 && c !== AMP && c !== LT && c !== 0xef) continue
      if (c === LT) this.fail('XML_MALFORMED', '"<" is not allowed in an attribute value', j)
      if (c === 0xef) {
        if (b[j + 1] === 0xbf && (b[j + 2] === 0xbe || b[j + 2] === 0xbf)) this.fail('XML_MALFORMED', 'character U+FFFE or U+FFFF is not allowed in XML', j)
        continue
      }
      if (c === AMP) {
        out += b.toString('utf8', from, j)
        this.i = j
        out += this.reference()
        j = this.i - 1
        from = this.i
        continue
      }
      if (c === TAB || c === LF || c === CR) {
        out += b.toString('utf8', from, j) + ' '
        // CR LF is one line end, hence one space.
        if (c === CR && b[j + 1] === LF) j++
        from = j + 1
        continue
      }
      this.fail('XML_MALFORMED', `character U+${c.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, j)
    }
    out += b.toString('utf8', from, end)
    if (out.length > max) this.fail('XML_LIMIT_EXCEEDED', `an attribute value is longer than ${max} characters`, start)
    this.i = end + 1
    return out
  }

  /**
   * A Name (XML 1.0 [5]) that is also a QName (Namespaces 1.0 [7]): no colon, or one colon
   * between two NCNames.
   */
  private name (what: string): string {
    const b = this.b
    const start = this.i
    const max = this.options.limits.maxNameLength
    let j = start
    let chars = 0
    let colon = -1
    let ascii = true
    let hash = 0
    for (;;) {
      const c = b[j]
      if (c === undefined) break
      // The first character, and the first after the colon, must be a name start character.
      const first = chars === 0 || colon === j - 1
      let len = 1
      if (c < 0x80) {
        const k = ASCII_NAME[c] as number
        if (k === 0 || (first && k !== 1)) break
        hash = (hash * 31 + c) | 0
        if (c === COLON) {
          if (colon >= 0 || chars === 0) this.fail('XML_MALFORMED', `malformed qualified name in ${what}`, start)
          colon = j
        }
      } else {
        ascii = false
        const v = decodeUtf8At(b, j)
        const cp = v & 0x1fffff
        len = v >>> 21
        if (!(first ? isNameStartCodePoint(cp) : isNameCodePoint(cp))) break
      }
      j += len
      if (++chars > max) this.fail('XML_LIMIT_EXCEEDED', `an ${what.includes('attribute') ? 'attribute' : 'element'} name is longer than ${max} characters`, start)
    }
    if (chars === 0) this.fail('XML_MALFORMED', `${what} expected`)
    if (colon === j - 1) this.fail('XML_MALFORMED', `malformed qualified name in ${what}`, start)
    this.i = j
    if (!ascii) return b.toString('utf8', start, j)
    const slot = hash & (NAME_CACHE_SIZE - 1)
    const cached = this.names[slot]
    if (cached !== undefined && cached.length === j - start) {
      let same = true
      for (let k = 0; k < cached.length; k++) {
        if (cached.charCodeAt(k) !== b[start + k]) {
          same = false
          break
        }
      }
      if (same) return cached
    }
    const name = b.toString('latin1', start, j)
    this.names[slot] = name
    return name
  }

  /** Characters of a comment, PI or CDATA section: legal XML characters, line ends normalised. */
  private decodeChars (start: number, end: number, what: string): string {
    const b = this.b
    let cr = false
    for (let j = start; j < end; j++) {
      const c = b[j] as number
      if (c >= 0x20 && c !== 0xef) continue
      if (c === CR) cr = true
      else if (c === 0xef) {
        if (b[j + 1] === 0xbf && (b[j + 2] === 0xbe || b[j + 2] === 0xbf)) this.fail('XML_MALFORMED', 'character U+FFFE or U+FFFF is not allowed in XML', j)
      } else if (c !== TAB && c !== LF) this.fail('XML_MALFORMED', `character U+${c.toString(16).toUpperCase().padStart(4, '0')} is not allowed in a ${what}`, j)
    }
    const s = b.toString('utf8', start, end)
    return cr ? normalizeLineEnds(s) : s
  }

  private skipSpaces (): boolean {
    const b = this.b
    const from = this.i
    while (isSpace(b[this.i])) this.i++
    return this.i > from
  }

  private startsWith (s: string): boolean {
    const b = this.b
    if (this.i + s.length > b.length) return false
    for (let k = 0; k < s.length; k++) if (b[this.i + k] !== s.charCodeAt(k)) return false
    return true
  }

  private fail (code: XmlRefusalCode, message: string, at: number = this.i): never {
    throw new XmlRefusal(code, `${message} (${position(this.b, at)})`)
  }
}

/** XML 1.0 §2.11: CR LF and a lone CR are both one LF. */
function normalizeLineEnds (s: string): string {
  return s.indexOf('\r') < 0 ? s : s.replace(/\r\n?/g, '\n')
}

/** "line L, column C" of a byte offset, counted only when a refusal is reported. */
function position (b: Buffer, at: number): string {
  let line = 1
  let lineStart = 0
  const end = Math.min(at, b.length)
  for (let k = b.indexOf(LF); k >= 0 && k < end; k = b.indexOf(LF, k + 1)) {
    line++
    lineStart = k + 1
  }
  return `line ${line}, column ${end - lineStart + 1}`
}
