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
    if (!this.first.ok || !ENVELOPE_SINGLETONS.has(e.local)) return
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
