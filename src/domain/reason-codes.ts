/**
 * The stable reason codes a verification can end with. They are part of the public contract:
 * agency systems branch on them, the signature log stores them and problem+json answers carry
 * them, so a code is never renamed or reused for another meaning. Add new ones at the end.
 */
export const REASON_CODES = {
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Document too large', sentence: 'the document is larger than the configured size cap' },
  XML_MALFORMED: { status: 400, title: 'Malformed XML', sentence: 'the bytes are not well-formed, namespace-well-formed XML' },
  XML_DTD_FORBIDDEN: { status: 400, title: 'DTD forbidden', sentence: 'the document contains a DOCTYPE or ENTITY declaration, which is refused outright' },
  XML_TOO_DEEP: { status: 400, title: 'XML nested too deeply', sentence: 'the document nests elements deeper than allowed' },
  SCHEMA_INVALID: { status: 422, title: 'Not a valid edXML message', sentence: 'the document does not match the edXML envelope schema' },
  SIGNATURE_MISSING: { status: 422, title: 'Signature missing', sentence: 'the document carries no XML-DSig signature' },
  SIGNATURE_AMBIGUOUS: { status: 422, title: 'Ambiguous signature', sentence: 'the document must carry exactly one signature with one SignedInfo and one Reference' },
  SIGNATURE_LOCATION: { status: 422, title: 'Signature misplaced', sentence: 'the signature is neither inside edXMLHeader nor a direct child of the root' },
  REFERENCE_NOT_DOCUMENT: { status: 422, title: 'Reference does not cover the document', sentence: 'the signature reference does not point at the whole document element' },
  TRANSFORM_FORBIDDEN: { status: 422, title: 'Transform forbidden', sentence: 'the signature uses a transform outside the allow-list (enveloped-signature plus one C14N)' },
  ALGORITHM_FORBIDDEN: { status: 422, title: 'Algorithm forbidden', sentence: 'the signature uses an algorithm outside the allow-list' },
  CERT_MISSING: { status: 422, title: 'Signer certificate missing', sentence: 'KeyInfo carries no usable X.509 certificate' },
  CERT_MALFORMED: { status: 422, title: 'Signer certificate unreadable', sentence: 'a certificate in KeyInfo cannot be decoded' },
  CERT_UNTRUSTED: { status: 422, title: 'Certificate not trusted', sentence: 'the signer certificate does not chain to a configured trust anchor' },
  CERT_EXPIRED: { status: 422, title: 'Certificate expired or not yet valid', sentence: 'a certificate in the signer chain is outside its validity period' },
  CERT_REVOKED: { status: 422, title: 'Certificate revoked', sentence: 'a certificate in the signer chain is revoked' },
  REVOCATION_UNAVAILABLE: { status: 422, title: 'Revocation status unknown', sentence: 'no fresh CRL covers a certificate in the signer chain, so revocation cannot be ruled out' },
  CERT_USAGE: { status: 422, title: 'Certificate not fit for signing', sentence: 'the signer certificate is a CA, lacks digitalSignature/nonRepudiation, or has a key that is too weak' },
  AGENCY_UNKNOWN: { status: 422, title: 'Unknown agency', sentence: 'the sending agency is not in the agency registry' },
  SENDER_MISMATCH: { status: 403, title: 'Signer is not the sender', sentence: 'the signer certificate does not belong to the agency named in From/OrganId' },
  SIGNATURE_INVALID: { status: 422, title: 'Signature invalid', sentence: 'the cryptographic check failed: the signed content or the signature value was altered' },
  DIGEST_MISMATCH: { status: 422, title: 'Signed content altered', sentence: 'the digest of the signed content does not match: the document was changed after signing' },
  XML_PI_FORBIDDEN: { status: 400, title: 'Processing instruction forbidden', sentence: 'the document contains a processing instruction, which signed edXML has no use for' },
  XML_LIMIT_EXCEEDED: { status: 400, title: 'XML too large in one dimension', sentence: 'the document has more elements or attributes, or longer names or values, than allowed' },
  XML_DECLARATION_UNSUPPORTED: { status: 400, title: 'XML version or encoding not accepted', sentence: 'only XML 1.0 in UTF-8 is accepted (the XML declaration says otherwise)' },
  ENVELOPE_AMBIGUOUS: { status: 422, title: 'Ambiguous envelope', sentence: 'an envelope element (MessageHeader, From...) occurs more than once or outside the edXML namespace' },
  FIELD_TOO_LONG: { status: 422, title: 'Envelope field too long', sentence: 'an envelope field is longer than the edXML schema allows' },
  SIGNATURE_FOREIGN_CONTENT: { status: 422, title: 'Unsigned content in the signature', sentence: 'ds:Signature holds something other than SignedInfo, SignatureValue and KeyInfo/X509Data' },
  SIGNATURE_MALFORMED: { status: 422, title: 'Signature unreadable', sentence: 'a DigestValue, SignatureValue or X509Certificate is empty or not strict base64 (a missing or repeated one is SIGNATURE_AMBIGUOUS)' }
} as const satisfies Record<string, { status: number, title: string, sentence: string }>

export type ReasonCode = keyof typeof REASON_CODES

export function isReasonCode (value: string): value is ReasonCode {
  return Object.hasOwn(REASON_CODES, value)
}
