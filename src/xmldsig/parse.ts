import { DEFAULT_PARSE_LIMITS, XmlRefusal, XmlTokenizer, type ParseLimits, type StartTag, type XmlTokenHandler } from './xml-tokenizer.js'
import type { XmlDeclaration, XmlDocument, XmlElement, XmlNode, XmlText } from './xml-tree.js'

export { DEFAULT_PARSE_LIMITS, XmlRefusal, type ParseLimits, type XmlRefusalCode } from './xml-tokenizer.js'

export interface ParseOptions extends Partial<ParseLimits> {
  /** edXML, status messages and receipts have no use for PIs, so verified input refuses them. */
  processingInstructions?: 'refuse' | 'keep'
}

/** A lone surrogate in a JS string has no UTF-8 form: Buffer.from would make it U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Parses `input` as XML 1.0 (fifth edition) with Namespaces 1.0 (third edition), refusing
 * everything else (xml-tokenizer.ts: strict UTF-8, at most one byte-order mark, version 1.0 and
 * UTF-8 only, no DOCTYPE, no PIs unless `processingInstructions: 'keep'`, depth, element,
 * attribute and name/value length bounds), and keeps the structure: elements with their names
 * and attributes, comments, PIs, and text as slices of the input.
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
  const builder = new TreeBuilder()
  new XmlTokenizer(bytes, builder, { limits, keepProcessingInstructions: options.processingInstructions === 'keep' }).run()
  return builder.document()
}

/** A text node whose string is made only when someone asks for it. */
class TextNode implements XmlText {
  readonly kind = 'text'
  readonly pieces: (Buffer | string)[] = []
  private decoded: string | undefined

  get value (): string {
    if (this.decoded === undefined) {
      let s = ''
      for (const p of this.pieces) s += typeof p === 'string' ? p : p.toString('utf8')
      this.decoded = s
    }
    return this.decoded
  }

  add (piece: Buffer | string): void {
    this.pieces.push(piece)
    this.decoded = undefined
  }
}

class TreeBuilder implements XmlTokenHandler {
  private readonly top: XmlNode[] = []
  private readonly elements: XmlElement[] = []
  private readonly stack: XmlElement[] = []
  private root: XmlElement | undefined
  private decl: XmlDeclaration | undefined

  document (): XmlDocument {
    return { children: this.top, root: this.root as XmlElement, elements: this.elements, ...(this.decl != null ? { declaration: this.decl } : {}) }
  }

  declaration (decl: XmlDeclaration): void {
    this.decl = decl
  }

  startElement (tag: StartTag): void {
    const parent = this.stack[this.stack.length - 1]
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
    if (parent == null) {
      this.top.push(element)
      this.root = element
    } else {
      parent.children.push(element)
    }
    this.elements.push(element)
    this.stack.push(element)
  }

  endElement (end: number): void {
    const element = this.stack.pop()
    if (element != null) element.end = end
  }

  text (piece: Buffer | string): void {
    const parent = this.stack[this.stack.length - 1]
    // Text outside the root element is white space, which the data model does not keep.
    if (parent == null) return
    // Text, references and CDATA next to each other are one text node of the data model.
    const last = parent.children[parent.children.length - 1]
    if (last instanceof TextNode) {
      last.add(piece)
      return
    }
    const node = new TextNode()
    node.add(piece)
    parent.children.push(node)
  }

  comment (value: string): void {
    this.append({ kind: 'comment', value })
  }

  processingInstruction (target: string, data: string): void {
    this.append({ kind: 'pi', target, data })
  }

  private append (node: XmlNode): void {
    const parent = this.stack[this.stack.length - 1]
    if (parent == null) this.top.push(node)
    else parent.children.push(node)
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
