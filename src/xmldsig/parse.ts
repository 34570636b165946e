import { DEFAULT_PARSE_LIMITS, XmlRefusal, XmlTokenizer, type ParseLimits, type StartTag, type XmlTokenHandler } from './xml-tokenizer.js'
import { XML_NAMESPACE, type DocumentFacts, type XmlAttribute, type XmlDeclaration, type XmlDocument, type XmlElement, type XmlNode, type XmlText } from './xml-tree.js'

export { DEFAULT_PARSE_LIMITS, XmlRefusal, type ParseLimits, type XmlRefusalCode } from './xml-tokenizer.js'

export interface ParseOptions extends Partial<ParseLimits> {
  /** edXML, status messages and receipts have no use for PIs, so verified input refuses them. */
  processingInstructions?: 'refuse' | 'keep'
  /** What of the document the tree keeps; everything when absent. */
  keep?: KeepPolicy
  /** Receives every token too, in the same pass (a streamed canonicalizer). */
  also?: XmlTokenHandler
}

/**
 * Which parts of a document the tree keeps, decided at each start tag: memory then grows with
 * the kept parts and the depth, not with the document. The first ds:Signature is always kept
 * whole, and every element keeps its `parent` chain; counts over every element are in
 * `XmlDocument.facts`.
 */
export interface KeepPolicy {
  /**
   * For an element whose parent's content is kept: 'content' puts it in the tree with its
   * content (child elements, text, comments), 'element' puts it in the tree without content
   * (its parent's checks count it), 'none' leaves it out. The root is always in the tree.
   */
  keep: (element: XmlElement) => 'content' | 'element' | 'none'
  /** Sees every element at its start tag, kept or not (whole-document checks without a tree). */
  observe?: (element: XmlElement) => void
  /**
   * Text kept per text node outside the signature, in bytes of slices plus UTF-16 units of
   * strings; beyond it the node is marked `truncated`. Must be over 3x the longest text any
   * reader checks (a byte can be a third of a UTF-16 unit), so a too-long field is still refused.
   */
  maxKeptText: number
}

const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#'
/**
 * Nodes the first ds:Signature may hold when a keep policy keeps it whole. The profile's
 * signature has about 40 (elements, white space, a few certificates); without a bound, comments
 * and text nodes in turn (`a<!---->`) kept two objects per 8 input bytes, all before the profile
 * could refuse them (340 MB of heap for 5 MB; issue 15 review, V1).
 */
export const MAX_KEPT_SIGNATURE_NODES = 4096
/**
 * Attributes a verifier might take as an element's Id: all of them count when the Reference's Id
 * is checked for uniqueness (signature-profile.ts), wherever they stand.
 */
function mayBeId (a: XmlAttribute): boolean {
  return (a.uri === '' && (a.local === 'Id' || a.local === 'ID' || a.local === 'id')) || (a.uri === XML_NAMESPACE && a.local === 'id')
}

/** A lone surrogate in a JS string has no UTF-8 form: Buffer.from would make it U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Parses `input` as XML 1.0 (fifth edition) with Namespaces 1.0 (third edition), refusing
 * everything else (xml-tokenizer.ts: strict UTF-8, at most one byte-order mark, version 1.0 and
 * UTF-8 only, no DOCTYPE, no PIs unless `processingInstructions: 'keep'`, depth, element,
 * attribute and name/value length bounds), and keeps the structure (all of it, or what
 * `keep` says): elements with their names and attributes, comments, PIs, and text as slices of
 * the input.
 *
 * Cost: one pass over the bytes; large text is neither decoded nor copied.
 */
export function parseXml (input: Buffer | Uint8Array | string, options: ParseOptions = {}): XmlDocument {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...definedOnly(options) }
  let bytes: Buffer
  if (typeof input === 'string') {
    if (LONE_SURROGATE.test(input)) throw new XmlRefusal('XML_MALFORMED', 'the text holds a lone surrogate, which is not a character')
    bytes = Buffer.from(input, 'utf8')
  } else {
    bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  }
  const builder = new TreeBuilder(options.keep, options.also)
  new XmlTokenizer(bytes, builder, { limits, keepProcessingInstructions: options.processingInstructions === 'keep' }).run()
  return builder.document()
}

/** Slices of the input at least this long are kept as they are (a base64 certificate or payload). */
const LARGE_PIECE = 512
/** Small pieces are joined into one string once they reach this many UTF-16 units... */
const JOINED_PIECE = 4096
/** ...or this many pieces (joined into one, so the waiting list stays short). */
const PENDING_PIECES = 256

/**
 * A text node whose string is made only when someone asks for it.
 *
 * Small pieces are joined as they arrive: the tokenizer hands on a slice between every two `>`
 * or CRs and a string per reference, and one object per piece cost about 110 bytes of heap per
 * input byte (5 MB of `a>` inside a ds:Signature held 500 MB; issue 15 review, V1). A small
 * Buffer piece is decoded to its string, which is the same text (it holds no character C14N
 * escapes: see xml-tokenizer.ts), so canonical output is unchanged.
 */
class TextNode implements XmlText {
  readonly kind = 'text'
  private readonly kept: (Buffer | string)[] = []
  private pending: string[] = []
  private pendingUnits = 0
  truncated = false
  private size = 0
  private decoded: string | undefined

  get pieces (): readonly (Buffer | string)[] {
    this.flush()
    return this.kept
  }

  get value (): string {
    if (this.decoded === undefined) {
      let s = ''
      for (const p of this.pieces) s += typeof p === 'string' ? p : p.toString('utf8')
      this.decoded = s
    }
    return this.decoded
  }

  add (piece: Buffer | string, max: number): void {
    if (this.truncated) return
    const room = max - this.size
    if (piece.length > room) {
      // The first `max` units are kept, so a length check below `max` still sees the excess; a
      // string prefix is copied, so a huge CDATA string is not kept alive by its slice.
      this.truncated = true
      piece = typeof piece === 'string' ? Buffer.from(piece.slice(0, room), 'utf8').toString('utf8') : piece.subarray(0, room)
    }
    this.size += piece.length
    this.decoded = undefined
    if (typeof piece !== 'string' && piece.length >= LARGE_PIECE) {
      this.flush()
      this.kept.push(piece)
      return
    }
    const text = typeof piece === 'string' ? piece : piece.toString('utf8')
    this.pending.push(text)
    this.pendingUnits += text.length
    if (this.pendingUnits >= JOINED_PIECE) this.flush()
    else if (this.pending.length >= PENDING_PIECES) this.pending = [this.pending.join('')]
  }

  private flush (): void {
    if (this.pending.length === 0) return
    this.kept.push(this.pending.length === 1 ? this.pending[0] as string : this.pending.join(''))
    this.pending = []
    this.pendingUnits = 0
  }
}

interface Open {
  element: XmlElement
  /** Whether this element's content goes into the tree. */
  keeps: boolean
}

class TreeBuilder implements XmlTokenHandler {
  private readonly top: XmlNode[] = []
  private readonly elements: XmlElement[] = []
  private readonly stack: Open[] = []
  private readonly facts: DocumentFacts = { dsigElements: 0, signatures: 0, rootIdHolders: 0 }
  private root: XmlElement | undefined
  private rootId: string | undefined
  private decl: XmlDeclaration | undefined
  /** Depth inside the first ds:Signature (0: outside it), whose content is always kept. */
  private inSignature = 0
  private signatureNodes = 0

  /**
   * Text kept per node outside the signature (Infinity without a policy), read once: text() runs
   * for every piece of every document, inlined into the tokenizer's text loop, and must not
   * depend on the hidden class of a caller's policy object (a different one per document
   * deoptimised that loop on every document after it).
   */
  private readonly maxKeptText: number

  constructor (private readonly keep: KeepPolicy | undefined, private readonly also: XmlTokenHandler | undefined) {
    this.maxKeptText = keep == null ? Infinity : keep.maxKeptText
  }

  document (): XmlDocument {
    return { children: this.top, root: this.root as XmlElement, elements: this.elements, facts: this.facts, ...(this.decl != null ? { declaration: this.decl } : {}) }
  }

  declaration (decl: XmlDeclaration): void {
    this.decl = decl
    this.also?.declaration(decl)
  }

  startElement (tag: StartTag): void {
    this.also?.startElement(tag)
    const open = this.stack[this.stack.length - 1]
    const parent = open?.element
    const element: XmlElement = {
      kind: 'element',
      qname: tag.qname,
      prefix: tag.prefix,
      local: tag.local,
      uri: tag.uri,
      attributes: tag.attributes,
      namespaces: tag.namespaces,
      children: [],
      parent,
      end: -1
    }
    this.count(element)
    if (this.inSignature > 0) this.inSignature++
    else if (element === this.facts.firstSignature) this.inSignature = 1
    if (this.inSignature > 0) this.keptInSignature()
    const decision = this.keep == null || this.inSignature > 0 ? 'content' : open == null || open.keeps ? this.keep.keep(element) : 'none'
    const attached = open == null || decision !== 'none'
    if (parent == null) {
      this.top.push(element)
      this.root = element
    } else if (attached) {
      parent.children.push(element)
    }
    if (attached) this.elements.push(element)
    this.keep?.observe?.(element)
    this.stack.push({ element, keeps: decision === 'content' })
  }

  endElement (end: number): void {
    this.also?.endElement(end)
    const open = this.stack.pop()
    if (open != null) open.element.end = end
    if (this.inSignature > 0) this.inSignature--
  }

  text (piece: Buffer | string): void {
    this.also?.text(piece)
    const open = this.stack[this.stack.length - 1]
    // Text outside the root element is white space, which the data model does not keep.
    if (open == null || !open.keeps) return
    const max = this.inSignature > 0 ? Infinity : this.maxKeptText
    const children = open.element.children
    // Text, references and CDATA next to each other are one text node of the data model.
    const last = children[children.length - 1]
    if (last instanceof TextNode) {
      last.add(piece, max)
      return
    }
    if (this.inSignature > 0) this.keptInSignature()
    const node = new TextNode()
    node.add(piece, max)
    children.push(node)
  }

  comment (value: string): void {
    this.also?.comment(value)
    this.append({ kind: 'comment', value })
  }

  processingInstruction (target: string, data: string): void {
    this.also?.processingInstruction(target, data)
    this.append({ kind: 'pi', target, data })
  }

  /** Counts a node kept inside the first signature; refuses past the bound when a policy keeps only part of the tree. */
  private keptInSignature (): void {
    if (this.keep != null && ++this.signatureNodes > MAX_KEPT_SIGNATURE_NODES) {
      throw new XmlRefusal('XML_LIMIT_EXCEEDED', `ds:Signature holds more than ${MAX_KEPT_SIGNATURE_NODES} nodes (elements, text, comments)`)
    }
  }

  /** The facts the signature profile reads, for every element whether kept or not. */
  private count (element: XmlElement): void {
    const facts = this.facts
    if (element.uri === XMLDSIG_NS) {
      facts.dsigElements++
      if (element.local === 'Signature' && facts.signatures++ === 0) facts.firstSignature = element
    }
    if (element.parent == null) {
      for (const a of element.attributes) if (a.uri === '' && a.local === 'Id') this.rootId = a.value
    }
    if (this.rootId !== undefined) for (const a of element.attributes) if (a.value === this.rootId && mayBeId(a)) facts.rootIdHolders++
  }

  private append (node: XmlNode): void {
    const open = this.stack[this.stack.length - 1]
    // With a keep policy, comments and PIs are kept only inside the signature (SignedInfo
    // canonicalised with comments signs them); no check outside it reads them.
    if (this.keep != null && this.inSignature === 0) return
    if (this.inSignature > 0) this.keptInSignature()
    if (open == null) this.top.push(node)
    else if (open.keeps) open.element.children.push(node)
  }
}

function definedOnly (options: ParseOptions): Partial<ParseLimits> {
  const out: Partial<ParseLimits> = {}
  for (const key of Object.keys(DEFAULT_PARSE_LIMITS) as (keyof ParseLimits)[]) {
    const value = options[key]
    if (value !== undefined) out[key] = value
  }
  return out
}
