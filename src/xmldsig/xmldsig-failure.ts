/**
 * How the signed-XML verifier ends a check. The codes are a subset of the hub's stable reason
 * codes (src/verification/xmldsig-steps.ts checks that at compile time); this module does not
 * import them so that xmldsig/ depends on nothing of ours but itself.
 */
export type XmlDsigCode =
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_AMBIGUOUS'
  | 'SIGNATURE_LOCATION'
  | 'SIGNATURE_FOREIGN_CONTENT'
  | 'REFERENCE_NOT_DOCUMENT'
  | 'TRANSFORM_FORBIDDEN'
  | 'ALGORITHM_FORBIDDEN'
  | 'CERT_MISSING'
  | 'CERT_MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'DIGEST_MISMATCH'
  | 'SIGNATURE_MALFORMED'

export class XmlDsigFailure extends Error {
  constructor (readonly code: XmlDsigCode, message: string) {
    super(message)
    this.name = 'XmlDsigFailure'
  }
}

export function refuse (code: XmlDsigCode, message: string): never {
  throw new XmlDsigFailure(code, message)
}
