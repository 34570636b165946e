/**
 * The parsed form of a signed XML document: the XPath data model, reduced to what C14N, the
 * signature profile and the envelope reader need, and nothing a library could reinterpret.
 * Text is stored exactly as an XML 1.0 processor reports it (line ends normalised, references
 * resolved, CDATA merged into the surrounding text), so what is canonicalised and digested is
 * the very string the envelope reader later reads.
 */
export interface XmlAttribute {
  /** As written: `p:name` or `name`. */
  qname: string
  prefix: string
  local: string
  /** '' for an attribute without a prefix (the default namespace never applies to attributes). */
  uri: string
  /** The normalised value (XML 1.0 §3.3.3 CDATA normalisation, as every conforming parser does). */
  value: string
}

/** A namespace declaration written on an element: `xmlns="…"` has prefix ''. */
export interface XmlNamespaceDeclaration {
  prefix: string
  uri: string
}

export interface XmlElement {
  kind: 'element'
  qname: string
  prefix: string
  local: string
  /** '' when the element is in no namespace. */
  uri: string
  /** Ordinary attributes in document order (namespace declarations are in `namespaces`). */
  attributes: XmlAttribute[]
  namespaces: XmlNamespaceDeclaration[]
  children: XmlNode[]
  parent: XmlElement | undefined
  /** Byte offset in the parsed input just after the element's last byte (used by the signer). */
  end: number
}

export interface XmlText {
  kind: 'text'
  /** The text (decoded on first use: a large text stays a slice of the input until then). */
  readonly value: string
  /**
   * The same text as it arrived: `Buffer` pieces are slices of the input that are already their
   * own canonical form (UTF-8 without `&`, `<`, `>` or CR), string pieces need C14N escaping.
   */
  readonly pieces: readonly (Buffer | string)[]
  /**
   * True when the tree keeps only part of an envelope element's text (parseXml's `keep` policy,
   * beyond `maxKeptText`): enough for the schema to refuse the field as too long, never read.
   */
  readonly truncated?: boolean
}

export interface XmlComment {
  kind: 'comment'
  value: string
}

export interface XmlProcessingInstruction {
  kind: 'pi'
  target: string
  data: string
}

export type XmlNode = XmlElement | XmlText | XmlComment | XmlProcessingInstruction

export interface XmlDeclaration {
  version: string
  encoding?: string
  standalone?: string
}

export interface XmlDocument {
  /** Top level in document order: comments, processing instructions and the root element. */
  children: XmlNode[]
  root: XmlElement
  declaration?: XmlDeclaration
  /**
   * Every element of the tree, in document order (lets profile checks stay linear without
   * walking again). With a `keep` policy (parse.ts), only the elements kept.
   */
  elements: XmlElement[]
  /** Counted over the whole document while it was parsed, kept or not. */
  facts: DocumentFacts
}

/** What the signature profile needs to know about every element, counted as the tokens arrive. */
export interface DocumentFacts {
  /** Elements in the XML-DSig namespace, anywhere. */
  dsigElements: number
  /** ds:Signature elements, anywhere. */
  signatures: number
  /** The first ds:Signature, always kept whole (with its ancestors as its `parent` chain). */
  firstSignature?: XmlElement
  /**
   * Attributes a verifier might take as an Id (`Id`, `ID`, `id`, `xml:id`) whose value is the
   * root element's `Id`, anywhere in the document (the root's own included).
   */
  rootIdHolders: number
}

export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace'

export function attributeValue (element: XmlElement, local: string, uri = ''): string | undefined {
  for (const a of element.attributes) if (a.local === local && a.uri === uri) return a.value
  return undefined
}

export function elementChildren (element: XmlElement): XmlElement[] {
  const out: XmlElement[] = []
  for (const c of element.children) if (c.kind === 'element') out.push(c)
  return out
}

/** Text and CDATA content directly under `element` (comments skipped: they are not signed). */
export function directText (element: XmlElement): string {
  let out = ''
  for (const c of element.children) if (c.kind === 'text') out += c.value
  return out
}
