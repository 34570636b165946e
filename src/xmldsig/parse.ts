import { SaxesParser, type SaxesTagNS } from 'saxes'
import { XML_NAMESPACE, type XmlDocument, type XmlElement, type XmlNode } from './xml-tree.js'

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

export interface ParseOptions extends Partial<ParseLimits> {
  /** edXML, status messages and receipts have no use for PIs, so verified input refuses them. */
  processingInstructions?: 'refuse' | 'keep'
}

// A namespace name must be an absolute URI (Namespaces 1.0 deprecates relative ones and C14N
// refuses to canonicalise them: libxml2 fails, so such a document can never be verified
// elsewhere), written with RFC 3986 characters only. `&` is refused too, although RFC 3986 allows
// it: libxml2 renders it unescaped in canonical namespace declarations where the C14N spec (and
// Santuario) escape it, so two conforming verifiers would digest different bytes. Where
// implementations disagree, the hub refuses (test/xmldsig/c14n-libxml2-differential.test.ts).
const NAMESPACE_NAME = /^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#[\]@!$'()*+,;=]|%[0-9A-Fa-f]{2})*$/

// ignoreBOM keeps a byte-order mark in the text so that exactly one is dropped, by the parser;
// a second one is text outside the root element, which it refuses.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Parses `input` as XML 1.0 (fifth edition) with Namespaces 1.0 (third edition), refusing
 * everything else: saxes implements both specifications strictly (it is checked against the
 * W3C conformance suite), and the rules it leaves to the application are enforced here while
 * the events arrive, so every bound holds before the next byte is looked at:
 *
 * - bytes: strict UTF-8, at most one byte-order mark (saxes drops the first; a second is text
 *   outside the root element, which it refuses);
 * - the XML declaration: version 1.0 only, encoding UTF-8 or absent; XML 1.1 line ends
 *   (U+2028, U+0085) are therefore ordinary characters, as in every 1.0 parser;
 * - no DOCTYPE (billion laughs, XXE; an undeclared entity reference is a fatal error);
 * - no processing instructions unless `processingInstructions: 'keep'`;
 * - depth, element, attribute and name/value length bounds.
 *
 * Cost: one pass over the characters; the tree holds each element once.
 */
export function parseXml (input: Buffer | Uint8Array | string, options: ParseOptions = {}): XmlDocument {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...definedOnly(options) }
  const keepPIs = options.processingInstructions === 'keep'
  let text: string
  if (typeof input === 'string') {
    text = input
  } else {
    try {
      text = utf8.decode(input)
    } catch {
      throw new XmlRefusal('XML_MALFORMED', 'the bytes are not valid UTF-8')
    }
  }

  const parser = new SaxesParser({ xmlns: true, position: true, defaultXMLVersion: '1.0', forceXMLVersion: true })
  const top: XmlNode[] = []
  const elements: XmlElement[] = []
  const stack: XmlElement[] = []
  let root: XmlElement | undefined
  let declaration: XmlDocument['declaration']
  let attributeCount = 0

  const where = (): string => `line ${parser.line}, column ${parser.column}`
  const refuse = (code: XmlRefusalCode, message: string): never => {
    throw new XmlRefusal(code, `${message} (${where()})`)
  }
  const append = (node: XmlNode): void => {
    const parent = stack[stack.length - 1]
    if (parent == null) {
      if (node.kind !== 'text') top.push(node)
      return
    }
    const last = parent.children[parent.children.length - 1]
    // Text and CDATA next to each other are one text node of the data model.
    if (node.kind === 'text' && last?.kind === 'text') last.value += node.value
    else parent.children.push(node)
  }

  parser.on('error', (err) => {
    // saxes prefixes its messages with "line:column: "; ours carry the position at the end.
    const message = err.message.replace(/^(?:[^:]*:)?\d+:\d+: /, '').replace(/\.$/, '')
    refuse('XML_MALFORMED', message)
  })
  parser.on('xmldecl', (decl) => {
    if (decl.version !== '1.0') refuse('XML_DECLARATION_UNSUPPORTED', `XML version ${JSON.stringify(decl.version ?? '')} is not accepted; only XML 1.0`)
    if (decl.encoding !== undefined && decl.encoding.toLowerCase() !== 'utf-8') {
      refuse('XML_DECLARATION_UNSUPPORTED', `encoding ${JSON.stringify(decl.encoding)} is not accepted; only UTF-8`)
    }
    declaration = {
      version: decl.version ?? '1.0',
      ...(decl.encoding !== undefined ? { encoding: decl.encoding } : {}),
      ...(decl.standalone !== undefined ? { standalone: decl.standalone } : {})
    }
  })
  parser.on('doctype', () => refuse('XML_DTD_FORBIDDEN', 'DOCTYPE declarations are not accepted'))
  parser.on('processinginstruction', (pi) => {
    if (!keepPIs) refuse('XML_PI_FORBIDDEN', `processing instruction <?${pi.target.slice(0, 40)}…?> is not accepted`)
    append({ kind: 'pi', target: pi.target, data: pi.body })
  })
  parser.on('comment', (value) => append({ kind: 'comment', value }))
  parser.on('text', (value) => append({ kind: 'text', value }))
  parser.on('cdata', (value) => append({ kind: 'text', value }))
  parser.on('opentagstart', (tag) => {
    attributeCount = 0
    if (stack.length + 1 > limits.maxDepth) refuse('XML_TOO_DEEP', `elements are nested more than ${limits.maxDepth} levels deep`)
    if (elements.length + 1 > limits.maxElements) refuse('XML_LIMIT_EXCEEDED', `more than ${limits.maxElements} elements`)
    if (tag.name.length > limits.maxNameLength) refuse('XML_LIMIT_EXCEEDED', `an element name is longer than ${limits.maxNameLength} characters`)
  })
  parser.on('attribute', (attribute) => {
    if (++attributeCount > limits.maxAttributes) refuse('XML_LIMIT_EXCEEDED', `an element has more than ${limits.maxAttributes} attributes`)
    if (attribute.name.length > limits.maxNameLength) refuse('XML_LIMIT_EXCEEDED', `an attribute name is longer than ${limits.maxNameLength} characters`)
    if (attribute.value.length > limits.maxAttributeValueLength) refuse('XML_LIMIT_EXCEEDED', `an attribute value is longer than ${limits.maxAttributeValueLength} characters`)
  })
  parser.on('opentag', (tag) => {
    const element = toElement(tag as SaxesTagNS, stack[stack.length - 1], refuse)
    append(element)
    if (root == null && stack.length === 0) {
      root = element
    }
    elements.push(element)
    stack.push(element)
  })
  parser.on('closetag', () => {
    const element = stack.pop()
    if (element != null) element.end = parser.position
  })

  parser.write(text).close()
  if (root == null) refuse('XML_MALFORMED', 'the document has no root element')
  return { children: top, root: root as XmlElement, elements, ...(declaration != null ? { declaration } : {}) }
}

function toElement (tag: SaxesTagNS, parent: XmlElement | undefined, refuse: (code: XmlRefusalCode, message: string) => never): XmlElement {
  const element: XmlElement = {
    kind: 'element',
    qname: tag.name,
    prefix: tag.prefix,
    local: tag.local,
    uri: tag.uri,
    attributes: [],
    namespaces: [],
    children: [],
    parent,
    end: -1
  }
  for (const name in tag.attributes) {
    const a = tag.attributes[name] as SaxesTagNS['attributes'][string]
    if (a.prefix === 'xmlns' || a.name === 'xmlns') {
      const prefix = a.prefix === 'xmlns' ? a.local : ''
      // xmlns:xml may only repeat the fixed binding (saxes checks the value); it is a no-op.
      if (prefix === 'xml') continue
      if (a.value !== '' && !NAMESPACE_NAME.test(a.value)) {
        refuse('XML_MALFORMED', `namespace name ${JSON.stringify(a.value.slice(0, 80))} is not an absolute URI of RFC 3986 characters (without "&")`)
      }
      element.namespaces.push({ prefix, uri: a.value })
    } else {
      element.attributes.push({ qname: a.name, prefix: a.prefix, local: a.local, uri: a.prefix === 'xml' ? XML_NAMESPACE : a.uri, value: a.value })
    }
  }
  return element
}

function definedOnly (options: ParseOptions): Partial<ParseLimits> {
  const out: Partial<ParseLimits> = {}
  for (const key of Object.keys(DEFAULT_PARSE_LIMITS) as (keyof ParseLimits)[]) {
    const value = options[key]
    if (value !== undefined) out[key] = value
  }
  return out
}
