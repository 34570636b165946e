import {
  LIST_ITEM_ELEMENT, MAX_RECIPIENTS, RECEIPT_KINDS, RECEIPT_LAYOUT, RECEIPT_NS, RECEIPT_VERSION, ReceiptFormatError, receiptNoun, scalarText,
  type FieldSpec, type Receipt, type ReceiptKind
} from './format.js'

import type { XmlElement } from '../../xmldsig/xml-tree.js'
import { attributeValue } from '../../xmldsig/xml-tree.js'

/**
 * Reads a receipt element back into its fields, refusing anything the format does not have: an
 * unknown or repeated element, elements out of order, attributes, comments, processing
 * instructions, text between elements. Every value is checked with the rule it was written with.
 * `signature` is the verified signature element, left out (it is not part of what it signs);
 * the caller reads only a tree whose every other node the signature covered. Comments are not
 * signed (C14N without comments), so a verifier skips them while the signer refuses them.
 */
export function readReceipt (root: XmlElement, signature?: XmlElement, options: { comments?: 'refuse' | 'skip' } = {}): Receipt {
  const skipComments = options.comments === 'skip'
  if (root.uri !== RECEIPT_NS || root.local !== 'Receipt') {
    throw new ReceiptFormatError(`the root element is {${root.uri}}${root.local}, not {${RECEIPT_NS}}Receipt`)
  }
  const kind = receiptKind(root)
  const version = attributeValue(root, 'version') ?? null
  if (version !== RECEIPT_VERSION) throw new ReceiptFormatError(`receipt version ${JSON.stringify(version)} is not supported (only "${RECEIPT_VERSION}")`)
  checkAttributes(root, ['kind', 'version'])

  const children = childElements(root, signature, skipComments)
  const out: Record<string, unknown> = { kind }
  let next = 0
  for (const spec of RECEIPT_LAYOUT[kind] as readonly FieldSpec[]) {
    const element = children[next]
    if (element == null || element.local !== spec.element) {
      if (spec.optional === true) continue
      throw new ReceiptFormatError(`${receiptNoun(kind)} needs <${spec.element}>${element != null ? ` where <${element.local}> is` : ''}`)
    }
    next++
    checkAttributes(element, [])
    out[spec.key] = spec.type === 'agencyList' ? readList(spec, element, skipComments) : scalarText(spec, leafText(element, skipComments), true)
  }
  const extra = children[next]
  if (extra != null) throw new ReceiptFormatError(`<${extra.local}> is not expected there in ${receiptNoun(kind)}`)
  return out as unknown as Receipt
}

function receiptKind (root: XmlElement): ReceiptKind {
  const kind = attributeValue(root, 'kind') ?? ''
  if (!(RECEIPT_KINDS as readonly string[]).includes(kind)) throw new ReceiptFormatError(`unknown receipt kind ${JSON.stringify(kind)}`)
  return kind as ReceiptKind
}

function readList (spec: FieldSpec, element: XmlElement, skipComments: boolean): string[] {
  const items = childElements(element, undefined, skipComments)
  if (items.length > MAX_RECIPIENTS) throw new ReceiptFormatError(`<${spec.element}> holds more than ${MAX_RECIPIENTS} entries`)
  const item: FieldSpec = { key: spec.key, element: LIST_ITEM_ELEMENT, type: 'agency' }
  return items.map((e) => {
    if (e.local !== LIST_ITEM_ELEMENT) throw new ReceiptFormatError(`<${spec.element}> holds <${e.local}>; only <${LIST_ITEM_ELEMENT}> is expected`)
    checkAttributes(e, [])
    return scalarText(item, leafText(e, skipComments), true)
  })
}

/** The element children of a container, which may hold nothing else but whitespace. */
function childElements (parent: XmlElement, skip: XmlElement | undefined, skipComments: boolean): XmlElement[] {
  const out: XmlElement[] = []
  for (const n of parent.children) {
    if (skipComments && n.kind === 'comment') continue
    if (n.kind === 'element') {
      if (n === skip) continue
      if (n.uri !== RECEIPT_NS) throw new ReceiptFormatError(`<${n.qname}> is not in the receipt namespace`)
      out.push(n)
    } else if (n.kind === 'text') {
      if (!/^[ \t\r\n]*$/.test(n.value)) throw new ReceiptFormatError(`text directly inside <${parent.local}>`)
    } else {
      throw new ReceiptFormatError(`<${parent.local}> holds a ${nodeName(n.kind)}`)
    }
  }
  return out
}

/** The text of a field element: text and CDATA only. */
function leafText (element: XmlElement, skipComments: boolean): string {
  let text = ''
  for (const n of element.children) {
    if (skipComments && n.kind === 'comment') continue
    if (n.kind !== 'text') throw new ReceiptFormatError(`<${element.local}> holds a ${nodeName(n.kind)}; only text is expected`)
    text += n.value
  }
  return text
}

function checkAttributes (element: XmlElement, allowed: string[]): void {
  // Namespace declarations are not attributes in the tree (they are in element.namespaces).
  for (const a of element.attributes) {
    if (!(a.uri === '' && allowed.includes(a.local))) {
      throw new ReceiptFormatError(`<${element.local}> has an unexpected attribute ${a.qname}`)
    }
  }
}

function nodeName (kind: 'element' | 'text' | 'comment' | 'pi'): string {
  return ({ element: 'element', text: 'text', pi: 'processing instruction', comment: 'comment' })[kind]
}
