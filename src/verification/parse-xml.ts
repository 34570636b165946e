import { XMLValidator } from 'fast-xml-parser'
import { DOMParser } from '@xmldom/xmldom'

/** Why strict parsing refused the input; `code` is a verification reason code. */
export class XmlRefusal extends Error {
  constructor (readonly code: 'XML_MALFORMED' | 'XML_DTD_FORBIDDEN' | 'XML_TOO_DEEP', message: string) {
    super(message)
    this.name = 'XmlRefusal'
  }
}

export interface ParseLimits {
  /** Deepest element nesting accepted. Real edXML is under 10 levels deep. */
  maxDepth: number
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxDepth: 64 }

// `<!DOCTYPE` / `<!ENTITY` anywhere (also inside a comment or CDATA) is refused: xmldom leaves
// undeclared entities as literal text with only a warning and expands internal ones, which is the
// door to billion-laughs and XXE. edXML has no use for a DTD, so there is no switch to allow one.
const DTD_MARKERS = /<!\s*(?:DOCTYPE|ENTITY)/i

const UTF8_BOM = 0xfeff

/**
 * Decodes and parses `input` into a DOM, refusing anything that is not plain, well-formed,
 * namespace-well-formed XML. Any parser warning is fatal: a lenient parser that "repairs" input
 * lets the verifier and the recipient see different documents.
 */
export function parseXmlStrict (input: Buffer | string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Document {
  const text = typeof input === 'string' ? input : decodeUtf8(input)
  if (DTD_MARKERS.test(text)) {
    throw new XmlRefusal('XML_DTD_FORBIDDEN', 'DOCTYPE and ENTITY declarations are not accepted')
  }
  const body = text.charCodeAt(0) === UTF8_BOM ? text.slice(1) : text
  if (!body.trimStart().startsWith('<')) {
    throw new XmlRefusal('XML_MALFORMED', 'the content does not start with "<": this is not XML')
  }
  // xmldom 0.8 "repairs" some unclosed start tags (one is taken as closed when a later end tag
  // merely begins with its name), so tag balance is checked first by a validator that keeps a
  // real stack of open tags. Linear time, no DOM.
  const wellFormed = XMLValidator.validate(body)
  if (wellFormed !== true) {
    throw new XmlRefusal('XML_MALFORMED', `${wellFormed.err.msg} (line ${wellFormed.err.line}, column ${wellFormed.err.col})`)
  }
  // xmldom catches what the handler throws and reports it again at a higher level; the first
  // complaint is the one that names the real problem.
  let first: string | undefined
  let doc: Document
  try {
    doc = new DOMParser({
      errorHandler: (level: string, message: unknown) => {
        first ??= String(message).replace(/^\[xmldom \w+\]\s*/, '').split('\n')[0]
        throw new XmlRefusal('XML_MALFORMED', first ?? level)
      }
    }).parseFromString(body, 'text/xml')
  } catch (err) {
    throw new XmlRefusal('XML_MALFORMED', first ?? (err as Error).message.split('\n')[0] ?? 'unparsable XML')
  }
  const root = doc.documentElement
  if (root == null) {
    throw new XmlRefusal('XML_MALFORMED', 'the document has no root element')
  }
  for (let n = doc.firstChild; n != null; n = n.nextSibling) {
    if ((n.nodeType === 3 || n.nodeType === 4) && (n.nodeValue ?? '').trim() !== '') {
      throw new XmlRefusal('XML_MALFORMED', 'text outside the root element')
    }
  }
  checkTree(root, limits.maxDepth)
  return doc
}

/**
 * Depth bound and namespace well-formedness (xmldom 0.8 accepts an undeclared prefix such as
 * `xlink:href` silently). Iterative: a recursive walk would itself be the stack overflow the
 * depth bound is there to stop.
 */
function checkTree (root: Element, maxDepth: number): void {
  const stack: [Element, number][] = [[root, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [Element, number]
    if (depth > maxDepth) {
      throw new XmlRefusal('XML_TOO_DEEP', `elements are nested more than ${maxDepth} levels deep`)
    }
    if (node.prefix != null && node.namespaceURI == null) {
      throw new XmlRefusal('XML_MALFORMED', `namespace prefix "${node.prefix}" of <${node.tagName}> is not declared`)
    }
    const attrs = node.attributes
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs.item(i) as Attr
      if (a.prefix != null && a.prefix !== 'xmlns' && a.namespaceURI == null) {
        throw new XmlRefusal('XML_MALFORMED', `namespace prefix "${a.prefix}" of attribute ${a.name} is not declared`)
      }
    }
    for (let child = node.firstChild; child != null; child = child.nextSibling) {
      if (child.nodeType === 1) stack.push([child as Element, depth + 1])
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeUtf8 (bytes: Buffer): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new XmlRefusal('XML_MALFORMED', 'the bytes are not valid UTF-8')
  }
}
