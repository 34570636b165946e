import { EDXML_NS } from '../edxml/namespaces.js'
import { parseXml, XmlRefusal, type ParseOptions, type XmlRefusalCode } from '../xmldsig/parse.js'
import type { SignaturePlacement } from '../xmldsig/signature-profile.js'
import { XmlDsigFailure, type XmlDsigCode } from '../xmldsig/xmldsig-failure.js'
import type { XmlDocument } from '../xmldsig/xml-tree.js'
import { fail } from '../errors/verification-failure.js'
import type { ReasonCode } from '../domain/reason-codes.js'

/**
 * Where QCVN 102:2016 puts the signature: inside edXMLEnvelope/edXMLHeader, or (as some
 * senders do) a direct child of the root.
 */
export const EDXML_SIGNATURE_PLACE: SignaturePlacement = (signature, root) => {
  const parent = signature.parent
  if (parent === root) return true
  return parent != null && parent.uri === EDXML_NS && parent.local === 'edXMLHeader' &&
    parent.parent != null && parent.parent.uri === EDXML_NS && parent.parent.local === 'edXMLEnvelope' &&
    parent.parent.parent === root
}

/**
 * The strict parse every verified input goes through; refusals become verification failures.
 * `stream` keeps only part of the tree and hands every token to a streamed digest too
 * (verify-document.ts).
 */
export function parseForVerification (bytes: Buffer, limits: { maxDepth: number }, stream: Pick<ParseOptions, 'keep' | 'also'> = {}): XmlDocument {
  try {
    return parseXml(bytes, { maxDepth: limits.maxDepth, processingInstructions: 'refuse', ...stream })
  } catch (err) {
    if (err instanceof XmlRefusal) fail(err.code, err.message)
    throw err
  }
}

/** Runs a step of the signed-XML verifier, turning its refusals into verification failures. */
export function xmldsigStep<T> (step: () => T): T {
  try {
    return step()
  } catch (err) {
    if (err instanceof XmlDsigFailure) fail(err.code, err.message)
    throw err
  }
}

// The strict parser and the signed-XML verifier have their own code lists (they import nothing
// of ours); every code they can end with must be one of the hub's stable reason codes. Checked
// here, where their failures become reason codes, so src/domain stays free of imports.
type Subset<T extends ReasonCode> = T
export type ParserCodesAreReasonCodes = Subset<XmlRefusalCode>
export type VerifierCodesAreReasonCodes = Subset<XmlDsigCode>
