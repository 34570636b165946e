import {
  LIST_ITEM_ELEMENT, MAX_RECIPIENTS, RECEIPT_KINDS, RECEIPT_LAYOUT, RECEIPT_NS, RECEIPT_VERSION, ReceiptFormatError, receiptNoun, scalarText,
  type FieldSpec, type Receipt, type ReceiptKind
} from './format.js'

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/'

/**
 * Reads a receipt element back into its fields, refusing anything the format does not have: an
 * unknown or repeated element, elements out of order, attributes, comments, processing
 * instructions, text between elements. Every value is checked with the rule it was written with.
 * The caller decides what `root` is; verifyReceipt() passes the signed bytes only.
 */
export function readReceipt (root: Element): Receipt {
  if (root.namespaceURI !== RECEIPT_NS || root.localName !== 'Receipt') {
    throw new ReceiptFormatError(`the root element is {${root.namespaceURI ?? ''}}${root.localName ?? root.tagName}, not {${RECEIPT_NS}}Receipt`)
  }
  const kind = receiptKind(root)
  const version = root.getAttribute('version')
  if (version !== RECEIPT_VERSION) throw new ReceiptFormatError(`receipt version ${JSON.stringify(version)} is not supported (only "${RECEIPT_VERSION}")`)
  checkAttributes(root, ['kind', 'version'])

  const children = childElements(root)
  const out: Record<string, unknown> = { kind }
  let next = 0
  for (const spec of RECEIPT_LAYOUT[kind] as readonly FieldSpec[]) {
    const element = children[next]
    if (element == null || element.localName !== spec.element) {
      if (spec.optional === true) continue
      throw new ReceiptFormatError(`${receiptNoun(kind)} needs <${spec.element}>${element != null ? ` where <${element.localName}> is` : ''}`)
    }
    next++
    checkAttributes(element, [])
    out[spec.key] = spec.type === 'agencyList' ? readList(spec, element) : scalarText(spec, leafText(element), true)
  }
  const extra = children[next]
  if (extra != null) throw new ReceiptFormatError(`<${extra.localName}> is not expected there in ${receiptNoun(kind)}`)
  return out as unknown as Receipt
}

function receiptKind (root: Element): ReceiptKind {
  const kind = root.getAttribute('kind') ?? ''
  if (!(RECEIPT_KINDS as readonly string[]).includes(kind)) throw new ReceiptFormatError(`unknown receipt kind ${JSON.stringify(kind)}`)
  return kind as ReceiptKind
}

function readList (spec: FieldSpec, element: Element): string[] {
  const items = childElements(element)
  if (items.length > MAX_RECIPIENTS) throw new ReceiptFormatError(`<${spec.element}> holds more than ${MAX_RECIPIENTS} entries`)
  const item: FieldSpec = { key: spec.key, element: LIST_ITEM_ELEMENT, type: 'agency' }
  return items.map((e) => {
    if (e.localName !== LIST_ITEM_ELEMENT) throw new ReceiptFormatError(`<${spec.element}> holds <${e.localName}>; only <${LIST_ITEM_ELEMENT}> is expected`)
    checkAttributes(e, [])
    return scalarText(item, leafText(e), true)
  })
}

/** The element children of a container, which may hold nothing else but whitespace. */
function childElements (parent: Element): Element[] {
  const out: Element[] = []
  for (let n = parent.firstChild; n != null; n = n.nextSibling) {
    if (n.nodeType === 1) {
      const e = n as Element
      if (e.namespaceURI !== RECEIPT_NS) throw new ReceiptFormatError(`<${e.tagName}> is not in the receipt namespace`)
      out.push(e)
    } else if (n.nodeType === 3) {
      if ((n.nodeValue ?? '').trim() !== '') throw new ReceiptFormatError(`text directly inside <${parent.localName}>`)
    } else {
      throw new ReceiptFormatError(`<${parent.localName}> holds a ${nodeName(n)}`)
    }
  }
  return out
}

/** The text of a field element: text and CDATA only. */
function leafText (element: Element): string {
  let text = ''
  for (let n = element.firstChild; n != null; n = n.nextSibling) {
    if (n.nodeType !== 3 && n.nodeType !== 4) throw new ReceiptFormatError(`<${element.localName}> holds a ${nodeName(n)}; only text is expected`)
    text += n.nodeValue ?? ''
  }
  return text
}

function checkAttributes (element: Element, allowed: string[]): void {
  const attributes = element.attributes
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes.item(i) as Attr
    if (a.namespaceURI === XMLNS_NS) continue
    if (!(a.namespaceURI == null && allowed.includes(a.localName ?? a.name))) {
      throw new ReceiptFormatError(`<${element.localName}> has an unexpected attribute ${a.name}`)
    }
  }
}

function nodeName (n: Node): string {
  return ({ 1: 'element', 4: 'CDATA section', 7: 'processing instruction', 8: 'comment' } as Record<number, string>)[n.nodeType] ?? `node of type ${n.nodeType}`
}
