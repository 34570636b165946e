import type { AgencyRef, AttachmentManifestEntry, SignedEnvelope, StaffInfo } from '../domain/verdict.js'
import { EDXML_NS } from './namespaces.js'
import { trimXmlWhitespace } from './xml-whitespace.js'
import type { XmlDocument, XmlElement } from '../xmldsig/xml-tree.js'

/**
 * Reads the routing fields from the verified DOM. Called only after the signature covered the
 * whole document element, so every element read here is signed content.
 *
 * Text is read with `signedText`, which concatenates text and CDATA children and skips comments:
 * exactly what C14N without comments feeds the digest. Reading only the first text node (the
 * SAML comment-truncation trap) would let `<OrganId>A<!---->B</OrganId>` route as "A" while the
 * signature covers "AB".
 */
export function readSignedEnvelope (doc: XmlDocument, kind: 'document' | 'status'): SignedEnvelope {
  const root = doc.root
  const header = path(root, 'edXMLEnvelope', 'edXMLHeader')
  const message = header != null ? child(header, 'MessageHeader') : undefined
  const trace = header != null ? child(header, 'TraceHeaderList') : undefined
  const business = trace != null ? child(trace, 'Bussiness') : undefined
  const manifest = path(root, 'edXMLEnvelope', 'edXMLBody', 'edXMLManifest')

  const envelope: SignedEnvelope = {
    kind,
    from: agency(message != null ? child(message, 'From') : undefined),
    to: message != null ? children(message, 'To').map(agency) : [],
    responseFor: message != null
      ? children(message, 'ResponseFor').map((r) => compact({ organId: text(r, 'OrganId'), documentId: text(r, 'DocumentId'), code: text(r, 'Code') }))
        .filter((r) => Object.keys(r).length > 0)
      : [],
    attachments: manifest != null ? children(manifest, 'Reference').map(attachment) : []
  }
  if (message == null) return envelope
  const code = child(message, 'Code')
  const type = child(message, 'DocumentType')
  return compact({
    ...envelope,
    documentId: text(message, 'DocumentId'),
    code: code != null ? compact({ number: text(code, 'CodeNumber'), notation: text(code, 'CodeNotation') }) : undefined,
    subject: text(message, 'Subject'),
    documentType: type != null ? compact({ type: text(type, 'Type'), typeName: text(type, 'TypeName') }) : undefined,
    promulgationDate: textAt(message, 'PromulgationInfo', 'PromulgationDate'),
    businessDocType: business != null ? text(business, 'BussinessDocType') : undefined,
    businessDocumentId: business != null ? text(business, 'DocumentId') : undefined,
    statusCode: text(message, 'StatusCode'),
    description: kind === 'status' ? text(message, 'Description') : undefined,
    staff: kind === 'status' ? staffInfo(child(message, 'StaffInfo')) : undefined
  }) as SignedEnvelope
}

/** StaffInfo's parts that carry text; undefined when it has none (or is absent). */
function staffInfo (element: XmlElement | undefined): StaffInfo | undefined {
  if (element == null) return undefined
  const staff = compact({ department: text(element, 'Department'), staff: text(element, 'Staff'), email: text(element, 'Email'), mobile: text(element, 'Mobile') })
  return Object.keys(staff).length > 0 ? staff : undefined
}

export function signedText (element: XmlElement): string {
  let out = ''
  for (const n of element.children) {
    if (n.kind === 'text') out += n.value
  }
  return trimXmlWhitespace(out)
}

function agency (element: XmlElement | undefined): AgencyRef {
  if (element == null) return { organId: '' }
  return compact({ organId: text(element, 'OrganId') ?? '', organName: text(element, 'OrganName') }) as AgencyRef
}

function attachment (reference: XmlElement): AttachmentManifestEntry {
  return compact({
    contentId: text(reference, 'ContentId') ?? '',
    contentType: text(reference, 'ContentType'),
    attachmentName: text(reference, 'AttachmentName'),
    description: text(reference, 'Description')
  }) as AttachmentManifestEntry
}

function children (parent: XmlElement, localName: string): XmlElement[] {
  const out: XmlElement[] = []
  for (const n of parent.children) {
    if (n.kind === 'element' && n.local === localName && n.uri === EDXML_NS) out.push(n)
  }
  return out
}

function child (parent: XmlElement, localName: string): XmlElement | undefined {
  for (const n of parent.children) {
    if (n.kind === 'element' && n.local === localName && n.uri === EDXML_NS) return n
  }
  return undefined
}

function path (start: XmlElement, ...names: string[]): XmlElement | undefined {
  let current: XmlElement | undefined = start
  for (const name of names) current = current != null ? child(current, name) : undefined
  return current
}

function text (parent: XmlElement, localName: string): string | undefined {
  const element = child(parent, localName)
  if (element == null) return undefined
  const value = signedText(element)
  return value === '' ? undefined : value
}

function textAt (parent: XmlElement, ...names: string[]): string | undefined {
  const last = names.pop() as string
  const holder = path(parent, ...names)
  return holder != null ? text(holder, last) : undefined
}

/** `value` without its undefined fields, in the same order (a loop: no entry arrays per field). */
function compact<T extends object> (value: T): T {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) out[key] = v
  }
  return out as T
}
