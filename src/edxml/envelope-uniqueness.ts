import type { XmlDocument } from '../xmldsig/xml-tree.js'
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
  const seen = new Map<string, number>()
  for (const e of doc.elements) {
    if (!ENVELOPE_SINGLETONS.has(e.local)) continue
    if (e.uri !== EDXML_NS) {
      return { ok: false, message: `<${e.qname}> in namespace ${e.uri === '' ? '(none)' : e.uri} imitates the edXML envelope element ${e.local}` }
    }
    const n = (seen.get(e.local) ?? 0) + 1
    if (n > 1) return { ok: false, message: `the document holds more than one ${e.local}; envelope elements occur exactly once` }
    seen.set(e.local, n)
  }
  return { ok: true }
}
