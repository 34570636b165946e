import type { XmlDocument, XmlElement } from '../xmldsig/xml-tree.js'
import { EDXML_NS } from './namespaces.js'

/**
 * Envelope parts that occur once in a message. A reader that takes "the first From" can be
 * shown a decoy: a second MessageHeader inside an unknown wrapper placed before the real one,
 * or a second From under a prefix rebound to another namespace. Whatever reads the envelope
 * (ours, the recipient's, an auditor's XPath), there must be nothing to choose between: any
 * element with one of these local names, in any namespace and anywhere in the document, may
 * appear once, in the edXML namespace.
 */
export const ENVELOPE_SINGLETONS: ReadonlySet<string> = new Set([
  'edXMLEnvelope', 'edXMLHeader', 'edXMLBody', 'edXMLManifest', 'MessageHeader', 'TraceHeaderList',
  'From', 'StatusCode', 'Bussiness', 'BussinessDocType', 'AttachmentEncoded'
])

/**
 * Routing elements that repeat legitimately, so they cannot be singletons, but that a reader
 * taking `//To` or the `edXML:` prefix would read wherever they stand: `To` and `ResponseFor`
 * only as children of the edXML MessageHeader, and `OrganId` only in the edXML namespace.
 * Otherwise a sender signs a recipient the hub never routes to (issue 15 review, V2).
 */
const ONLY_IN_MESSAGE_HEADER: ReadonlySet<string> = new Set(['To', 'ResponseFor'])
const ONLY_IN_EDXML_NAMESPACE: ReadonlySet<string> = new Set(['OrganId'])

const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#'

/** Depth is bounded by the parser (64), and only routing-named elements are walked up. */
function insideXmlDsig (e: XmlElement): boolean {
  for (let a = e.parent; a != null; a = a.parent) if (a.uri === XMLDSIG_NS) return true
  return false
}

export type UniquenessFinding = { ok: true } | { ok: false, message: string }

/** Linear: one look at every element the parser made. */
export function checkEnvelopeUniqueness (doc: XmlDocument): UniquenessFinding {
  const check = new EnvelopeUniqueness()
  for (const e of doc.elements) check.observe(e)
  return check.finding()
}

/**
 * The same check fed one element at a time while the document is parsed (parse.ts
 * `KeepPolicy.observe`), so it covers every element without the tree keeping them. The first
 * problem in document order is the finding.
 */
export class EnvelopeUniqueness {
  private readonly seen = new Set<string>()
  private first: UniquenessFinding = { ok: true }

  readonly observe = (e: XmlElement): void => {
    if (!this.first.ok) return
    if (ONLY_IN_MESSAGE_HEADER.has(e.local) || ONLY_IN_EDXML_NAMESPACE.has(e.local)) {
      // Inside ds:Signature the profile refuses any foreign element (SIGNATURE_FOREIGN_CONTENT).
      if (insideXmlDsig(e)) return
      const parent = e.parent
      if (e.uri !== EDXML_NS) {
        this.first = { ok: false, message: `<${e.qname}> in namespace ${e.uri === '' ? '(none)' : e.uri} imitates the edXML routing element ${e.local}` }
      } else if (ONLY_IN_MESSAGE_HEADER.has(e.local) && !(parent != null && parent.uri === EDXML_NS && parent.local === 'MessageHeader')) {
        this.first = { ok: false, message: `<${e.qname}> stands inside <${parent?.qname ?? ''}>; ${e.local} is read only as a child of MessageHeader` }
      }
      return
    }
    if (!ENVELOPE_SINGLETONS.has(e.local)) return
    if (e.uri !== EDXML_NS) {
      this.first = { ok: false, message: `<${e.qname}> in namespace ${e.uri === '' ? '(none)' : e.uri} imitates the edXML envelope element ${e.local}` }
    } else if (this.seen.has(e.local)) {
      this.first = { ok: false, message: `the document holds more than one ${e.local}; envelope elements occur exactly once` }
    } else {
      this.seen.add(e.local)
    }
  }

  finding (): UniquenessFinding {
    return this.first
  }
}
