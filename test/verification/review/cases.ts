import type { ReasonCode } from '../../../src/domain/reason-codes.js'
import { CONTENT_WITH_LF, ourSign, replace, SIGNATURE_BLOCK, UNSIGNED } from './documents.js'
import type { Xmlsec1Verdict } from './xmlsec1.js'

/** The genuine documents every mutation starts from: signed once by signEdxml, reused. */
export interface Genuine {
  /** exclusive C14N (the signer's default) */
  exc: string
  /** inclusive C14N 1.0 */
  c14n: string
}

export interface MutationCase {
  /** What the case attacks; the test is named after it. */
  name: string
  finding: string
  /** The input the verifier gets; `signed` cases are mutated BEFORE signing (the signature is genuine). */
  make: (genuine: Genuine) => string | Buffer
  /** The reason code verifyDocument must end with. */
  code: ReasonCode
  /**
   * xmlsec1's verdict on the same bytes. 'accepts' where the signature is genuine and the refusal
   * is a rule of our profile (envelope ambiguity, field lengths, profile-only signature contents):
   * xmlsec1 cannot judge those, and its acceptance proves that our refusal is not a broken signature.
   */
  xmlsec1: Xmlsec1Verdict
  /** What xmlsec1's output must say, where its verdict alone would not show why. */
  xmlsec1Says?: RegExp
  /** verifyDocument options for this case */
  expectedSender?: string
}

const DECL = '<?xml version="1.0" encoding="UTF-8"?>'
const OPEN_ROOT = '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
const DOCUMENT_ID = '<edXML:DocumentId>000.00.00.G22,2026/11/20,1234/VPCP-KSTT</edXML:DocumentId>'
const SUBJECT = '<edXML:Subject>V/v triển khai kết nối liên thông văn bản điện tử năm 2027</edXML:Subject>'
const FROM_ORGAN = '<edXML:OrganId>000.00.00.G22</edXML:OrganId>'
const FROM = '<edXML:From>'
const withDeclaration = (xml: string, decl: string): string => replace(xml, DECL, decl, `declaration ${decl}`)
const firstCertificate = /<X509Certificate>([^<]+)<\/X509Certificate>/
const junkInCertificate = (xml: string, junk: string): string => xml.replace(firstCertificate, (_m, b64: string) => `<X509Certificate>${b64.slice(0, 40)}${junk}${b64.slice(40)}</X509Certificate>`)
const inSignature = (xml: string, from: string | RegExp, to: string): string => {
  const block = (SIGNATURE_BLOCK.exec(xml) as RegExpExecArray)[0]
  return replace(xml, block, replace(block, from, to), `signature: ${String(from)}`)
}
const bom = Buffer.from([0xef, 0xbb, 0xbf])

export const MUTATIONS: MutationCase[] = [
  // F01: text moved into a processing instruction (xml-crypto digested the PI as text).
  { finding: 'F01', name: 'PI inside DocumentId text', code: 'XML_PI_FORBIDDEN', xmlsec1: 'rejects', make: (g) => replace(g.exc, '1234/VPCP-KSTT</edXML:DocumentId>', '123<?x 4?>/VPCP-KSTT</edXML:DocumentId>') },
  { finding: 'F01', name: 'PI inside Subject text', code: 'XML_PI_FORBIDDEN', xmlsec1: 'rejects', make: (g) => replace(g.exc, 'V/v triển khai kết nối liên thông', 'V/v triển khai <?x kết nối ?>liên thông') },
  { finding: 'F01', name: 'PI inside CodeNumber text', code: 'XML_PI_FORBIDDEN', xmlsec1: 'rejects', make: (g) => replace(g.exc, '<edXML:CodeNumber>1234</edXML:CodeNumber>', '<edXML:CodeNumber>123<?x 4?></edXML:CodeNumber>') },
  { finding: 'F01', name: 'PI inside text, inclusive C14N', code: 'XML_PI_FORBIDDEN', xmlsec1: 'rejects', make: (g) => replace(g.c14n, '<edXML:CodeNumber>1234</edXML:CodeNumber>', '<edXML:CodeNumber>123<?x 4?></edXML:CodeNumber>') },
  // Differential: accepted by us, rejected by xmlsec1.
  { finding: 'diff', name: 'PI before the root element (URI="" covers it)', code: 'XML_PI_FORBIDDEN', xmlsec1: 'rejects', make: (g) => replace(g.exc, `${DECL}\n`, `${DECL}\n<?x y?>\n`) },
  { finding: 'diff', name: 'PI after the root element', code: 'XML_PI_FORBIDDEN', xmlsec1: 'rejects', make: (g) => replace(g.exc, /<\/edXML>\s*$/, '</edXML>\n<?x y?>\n') },
  { finding: 'diff', name: 'signed LF in text replaced by U+2028', code: 'DIGEST_MISMATCH', xmlsec1: 'rejects', make: (g) => replace(g.exc, CONTENT_WITH_LF, CONTENT_WITH_LF.replace('\n', '\u2028')) },
  { finding: 'diff', name: 'signed LF in text replaced by U+0085', code: 'DIGEST_MISMATCH', xmlsec1: 'rejects', make: (g) => replace(g.exc, CONTENT_WITH_LF, CONTENT_WITH_LF.replace('\n', '\u0085')) },
  { finding: 'diff', name: 'signed LF replaced by U+2028, inclusive C14N', code: 'DIGEST_MISMATCH', xmlsec1: 'rejects', make: (g) => replace(g.c14n, CONTENT_WITH_LF, CONTENT_WITH_LF.replace('\n', '\u2028')) },
  { finding: 'diff', name: 'attribute xmlns-OrganId added to a signed element', code: 'DIGEST_MISMATCH', xmlsec1: 'rejects', make: (g) => replace(g.exc, FROM, '<edXML:From xmlns-OrganId="000.00.00.H41">') },
  { finding: 'diff', name: 'attribute xmlnsX added to a signed element', code: 'DIGEST_MISMATCH', xmlsec1: 'rejects', make: (g) => replace(g.exc, FROM, '<edXML:From xmlnsX="1">') },
  { finding: 'diff', name: 'attribute xmlns0 added, inclusive C14N', code: 'DIGEST_MISMATCH', xmlsec1: 'rejects', make: (g) => replace(g.c14n, FROM, '<edXML:From xmlns0="1">') },
  { finding: 'diff', name: 'comment holding U+0001', code: 'XML_MALFORMED', xmlsec1: 'rejects', make: (g) => replace(g.exc, FROM, `${FROM}<!-- \u0001 -->`) },
  { finding: 'diff', name: 'comment holding --', code: 'XML_MALFORMED', xmlsec1: 'rejects', make: (g) => replace(g.exc, FROM, `${FROM}<!-- a -- b -->`) },
  { finding: 'diff', name: 'U+000B inside a start tag', code: 'XML_MALFORMED', xmlsec1: 'rejects', make: (g) => replace(g.exc, FROM, '<edXML:From\u000b>') },
  { finding: 'diff', name: 'standalone="maybe"', code: 'XML_MALFORMED', xmlsec1: 'rejects', make: (g) => withDeclaration(g.exc, '<?xml version="1.0" encoding="UTF-8" standalone="maybe"?>') },
  { finding: 'diff', name: 'non-BMP character as two surrogate character references', code: 'XML_MALFORMED', xmlsec1: 'rejects', make: (g) => replace(g.exc, 'năm 2027</edXML:Subject>', 'năm 2027&#xD83D;&#xDE00;</edXML:Subject>') },
  { finding: 'diff', name: 'second XML declaration after the root element', code: 'XML_MALFORMED', xmlsec1: 'rejects', make: (g) => replace(g.exc, /<\/edXML>\s*$/, `</edXML>\n${DECL}\n`) },
  // libxml2 reports "namespace error: Empty XML namespace is not allowed" and verifies anyway; the
  // issue's "rejected by xmlsec1" does not hold for xmlsec1 1.2.37. Namespaces 1.0 forbids it (NSC).
  { finding: 'diff', name: 'xmlns:zz="" (undeclaring a prefix, XML 1.0)', code: 'XML_MALFORMED', xmlsec1: 'accepts', xmlsec1Says: /namespace error : xmlns:zz: Empty XML namespace is not allowed/, make: (g) => replace(g.exc, FROM, '<edXML:From xmlns:zz="">') },
  { finding: 'diff', name: 'xmlns:zz="" (undeclaring a prefix), inclusive C14N', code: 'XML_MALFORMED', xmlsec1: 'accepts', xmlsec1Says: /namespace error : xmlns:zz: Empty XML namespace is not allowed/, make: (g) => replace(g.c14n, FROM, '<edXML:From xmlns:zz="">') },
  // F10: the XML declaration.
  { finding: 'F10', name: 'encoding="ISO-8859-1" set after signing', code: 'XML_DECLARATION_UNSUPPORTED', xmlsec1: 'rejects', make: (g) => withDeclaration(g.exc, '<?xml version="1.0" encoding="ISO-8859-1"?>') },
  { finding: 'F10', name: 'encoding="UTF-16" set after signing', code: 'XML_DECLARATION_UNSUPPORTED', xmlsec1: 'rejects', make: (g) => withDeclaration(g.exc, '<?xml version="1.0" encoding="UTF-16"?>') },
  // libxml2 reads 1.1 input with 1.0 rules (U+2028 stays U+2028), so the digest still matches there;
  // an XML 1.1 parser reads a line feed. Only refusing 1.1 keeps every reader on the signed text.
  { finding: 'F10', name: 'version="1.1" set after signing (U+2028 in signed text)', code: 'XML_DECLARATION_UNSUPPORTED', xmlsec1: 'accepts', make: () => withDeclaration(ourSign(UNSIGNED.replace(CONTENT_WITH_LF, CONTENT_WITH_LF.replace('\n', '\u2028'))), '<?xml version="1.1" encoding="UTF-8"?>') },
  { finding: 'F10', name: 'two byte-order marks', code: 'XML_MALFORMED', xmlsec1: 'rejects', make: (g) => Buffer.concat([bom, bom, Buffer.from(g.exc)]) },
  // Inclusive C14N inherits xml:* attributes of ancestors into SignedInfo (SIGNATURE_INVALID);
  // the profile refuses it earlier: the unsigned Signature element may carry only Id.
  { finding: 'diff', name: 'xml:lang added to ds:Signature after signing, inclusive C14N', code: 'SIGNATURE_FOREIGN_CONTENT', xmlsec1: 'rejects', make: (g) => replace(g.c14n, '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">', '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" xml:lang="vi">') },
  { finding: 'diff', name: 'xml:space added to edXMLHeader after signing, inclusive C14N', code: 'DIGEST_MISMATCH', xmlsec1: 'rejects', make: (g) => replace(g.c14n, '<edXML:edXMLHeader>', '<edXML:edXMLHeader xml:space="preserve">') },
  // F08: decoy envelope parts, validly signed.
  { finding: 'F08', name: 'decoy MessageHeader in an unknown wrapper (signed)', code: 'ENVELOPE_AMBIGUOUS', xmlsec1: 'accepts', make: () => ourSign(replace(UNSIGNED, '<edXML:MessageHeader>', `<edXML:Wrapper><edXML:MessageHeader>${FROM}<edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:From></edXML:MessageHeader></edXML:Wrapper>\n      <edXML:MessageHeader>`)) },
  { finding: 'F08', name: 'second From under a prefix rebound to another namespace (signed)', code: 'ENVELOPE_AMBIGUOUS', xmlsec1: 'accepts', make: () => ourSign(replace(UNSIGNED, FROM, `<edXML:Note xmlns:edXML="urn:example:decoy">${FROM}<edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:From></edXML:Note>\n        ${FROM}`)) },
  { finding: 'F08', name: 'From/OrganId padded with NBSP (signed)', code: 'SCHEMA_INVALID', xmlsec1: 'accepts', make: () => ourSign(replace(UNSIGNED, FROM_ORGAN, '<edXML:OrganId>\u00a0000.00.00.G22\u00a0</edXML:OrganId>')) },
  { finding: 'F08', name: 'From/OrganId padded with U+3000 (signed)', code: 'SCHEMA_INVALID', xmlsec1: 'accepts', make: () => ourSign(replace(UNSIGNED, FROM_ORGAN, '<edXML:OrganId>\u3000000.00.00.G22</edXML:OrganId>')) },
  // F09: unsigned content inside ds:Signature.
  // A second MessageHeader anywhere is caught by the envelope check, which runs before the profile.
  { finding: 'F09', name: 'ds:Object holding a full MessageHeader', code: 'ENVELOPE_AMBIGUOUS', xmlsec1: 'accepts', make: (g) => inSignature(g.exc, '</KeyInfo>', `</KeyInfo><Object>${(/<edXML:MessageHeader>[\s\S]*<\/edXML:MessageHeader>/.exec(g.exc) as RegExpExecArray)[0].replace('000.00.00.G22', '000.00.00.H41')}</Object>`) },
  { finding: 'F09', name: 'ds:Object holding foreign content', code: 'SIGNATURE_FOREIGN_CONTENT', xmlsec1: 'accepts', make: (g) => inSignature(g.exc, '</KeyInfo>', '</KeyInfo><Object><n:Note xmlns:n="urn:example:unsigned">Chuyển khoản ngay cho tài khoản 123</n:Note></Object>') },
  { finding: 'F09', name: 'KeyInfo holding KeyName beside X509Data', code: 'SIGNATURE_FOREIGN_CONTENT', xmlsec1: 'accepts', make: (g) => inSignature(g.exc, '<KeyInfo>', '<KeyInfo><KeyName>000.00.00.H41</KeyName>') },
  { finding: 'F09', name: 'KeyInfo holding a foreign element', code: 'SIGNATURE_FOREIGN_CONTENT', xmlsec1: 'accepts', make: (g) => inSignature(g.exc, '</X509Data>', '</X509Data><n:Note xmlns:n="urn:example:unsigned">chuyển khoản</n:Note>') },
  { finding: 'F09', name: 'foreign element before SignedInfo', code: 'SIGNATURE_FOREIGN_CONTENT', xmlsec1: 'rejects', make: (g) => inSignature(g.exc, '<SignedInfo>', '<n:Note xmlns:n="urn:example:unsigned">chuyển khoản</n:Note><SignedInfo>') },
  // Strict base64 and a readable signature.
  { finding: 'diff', name: 'quote inside X509Certificate base64', code: 'CERT_MALFORMED', xmlsec1: 'rejects', make: (g) => junkInCertificate(g.exc, '"') },
  { finding: 'diff', name: 'U+2028 inside X509Certificate base64', code: 'CERT_MALFORMED', xmlsec1: 'rejects', make: (g) => junkInCertificate(g.exc, '\u2028') },
  { finding: 'diff', name: 'NUL (&#0;) inside X509Certificate base64', code: 'XML_MALFORMED', xmlsec1: 'rejects', make: (g) => junkInCertificate(g.exc, '&#0;') },
  { finding: 'diff', name: 'empty DigestValue', code: 'SIGNATURE_MALFORMED', xmlsec1: 'rejects', make: (g) => inSignature(g.exc, /<DigestValue>[^<]+<\/DigestValue>/, '<DigestValue></DigestValue>') },
  { finding: 'diff', name: 'missing DigestValue', code: 'SIGNATURE_AMBIGUOUS', xmlsec1: 'rejects', make: (g) => inSignature(g.exc, /<DigestValue>[^<]+<\/DigestValue>/, '') },
  { finding: 'diff', name: 'repeated DigestValue', code: 'SIGNATURE_AMBIGUOUS', xmlsec1: 'rejects', make: (g) => inSignature(g.exc, /(<DigestValue>[^<]+<\/DigestValue>)/, '$1$1') },
  { finding: 'diff', name: 'data-less PI <?x?> in SignedInfo', code: 'XML_PI_FORBIDDEN', xmlsec1: 'rejects', make: (g) => inSignature(g.exc, '<SignedInfo>', '<SignedInfo><?x?>') },
  // F11: an overlong envelope field, validly signed.
  { finding: 'F11', name: 'DocumentId of 9000 characters (signed)', code: 'FIELD_TOO_LONG', xmlsec1: 'accepts', make: () => ourSign(replace(UNSIGNED, DOCUMENT_ID, `<edXML:DocumentId>${'9'.repeat(9000)}</edXML:DocumentId>`)) },
  { finding: 'F11', name: 'Subject of 100,000 characters (signed)', code: 'FIELD_TOO_LONG', xmlsec1: 'accepts', make: () => ourSign(replace(UNSIGNED, SUBJECT, `<edXML:Subject>${'ă'.repeat(100_000)}</edXML:Subject>`)) },
  // F02: the credential is compared with From before any signature work.
  { finding: 'F02', name: 'genuine document submitted under another agency\'s credential', code: 'SENDER_MISMATCH', xmlsec1: 'accepts', expectedSender: '000.00.00.G12', make: (g) => g.exc },
  { finding: 'diff', name: 'root element wrapped after signing', code: 'SCHEMA_INVALID', xmlsec1: 'rejects', make: (g) => replace(replace(g.exc, OPEN_ROOT, `<w:Wrap xmlns:w="urn:example:wrap">${OPEN_ROOT}`), /<\/edXML>\s*$/, '</edXML></w:Wrap>\n') }
]

/** A document shape that conforming signers and verifiers handle: signed by one side, verified by the other. */
export interface InteropShape {
  name: string
  c14n: 'exc' | 'c14n'
  /** Applied to the unsigned document before signing. */
  make: (unsigned: string) => string
  /** Still in the signed output: the signer kept the shape (it did not "repair" it). */
  marker: string
  /**
   * xmlsec1 --sign writes libxml2's serialization, which drops the shape (an xmlns:xml declaration,
   * whitespace inside end tags). C14N does not see it either, so it is put back into xmlsec1's
   * signed output, and xmlsec1 must still verify that output.
   */
  afterXmlsec1Signing?: true
}

const CONTENT_OPEN = '<edXML:Content>'
const twoNamespaceAttributes = (xml: string): string => replace(xml, CONTENT_OPEN, '<edXML:Content xmlns:p="http://ab" xmlns:q="http://a" p:c="1" q:bc="2">')
const caseDifferingPrefixes = (xml: string): string => replace(xml, CONTENT_OPEN, '<edXML:Content xmlns:a="http://example.org/a" xmlns:B="http://example.org/b" a:x="1" B:y="2">')

export const INTEROP_SHAPES: InteropShape[] = [
  { name: 'literal U+2028 in signed text', marker: 'kết nối\u2028trước', c14n: 'exc', make: (u) => replace(u, CONTENT_WITH_LF, CONTENT_WITH_LF.replace('\n', '\u2028')) },
  { name: 'literal U+0085 in signed text', marker: 'kết nối\u0085trước', c14n: 'exc', make: (u) => replace(u, CONTENT_WITH_LF, CONTENT_WITH_LF.replace('\n', '\u0085')) },
  { name: 'literal U+2028 and U+0085 in signed text, inclusive C14N', marker: 'kết nối\u2028\u0085trước', c14n: 'c14n', make: (u) => replace(u, CONTENT_WITH_LF, CONTENT_WITH_LF.replace('\n', '\u2028\u0085')) },
  { name: 'xmlns:xml declared on a descendant, inclusive C14N', afterXmlsec1Signing: true, marker: '<edXML:From xmlns:xml="http://www.w3.org/XML/1998/namespace">', c14n: 'c14n', make: (u) => replace(u, FROM, '<edXML:From xmlns:xml="http://www.w3.org/XML/1998/namespace">') },
  { name: 'xmlns:xml declared on a descendant, exclusive C14N', afterXmlsec1Signing: true, marker: '<edXML:From xmlns:xml="http://www.w3.org/XML/1998/namespace">', c14n: 'exc', make: (u) => replace(u, FROM, '<edXML:From xmlns:xml="http://www.w3.org/XML/1998/namespace">') },
  { name: 'xml:lang="vi" on the root, inclusive C14N', marker: ' xml:lang="vi">', c14n: 'c14n', make: (u) => replace(u, OPEN_ROOT, '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" xml:lang="vi">') },
  { name: 'xml:lang="vi" on the root, exclusive C14N', marker: ' xml:lang="vi">', c14n: 'exc', make: (u) => replace(u, OPEN_ROOT, '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" xml:lang="vi">') },
  { name: 'TAB before > in end tags', afterXmlsec1Signing: true, marker: '</edXML:OrganId\t>', c14n: 'exc', make: (u) => replace(replace(u, '000.00.00.G22</edXML:OrganId>', '000.00.00.G22</edXML:OrganId\t>'), '</edXML:Subject>', '</edXML:Subject \t\n>') },
  { name: 'attributes p:c in http://ab and q:bc in http://a, exclusive C14N', marker: 'p:c="1" q:bc="2"', c14n: 'exc', make: twoNamespaceAttributes },
  { name: 'attributes p:c in http://ab and q:bc in http://a, inclusive C14N', marker: 'p:c="1" q:bc="2"', c14n: 'c14n', make: twoNamespaceAttributes },
  { name: 'namespace prefixes differing in case (a, B), inclusive C14N', marker: 'xmlns:a="http://example.org/a" xmlns:B="http://example.org/b"', c14n: 'c14n', make: caseDifferingPrefixes },
  { name: 'namespace prefixes differing in case (a, B), exclusive C14N', marker: 'xmlns:a="http://example.org/a" xmlns:B="http://example.org/b"', c14n: 'exc', make: caseDifferingPrefixes }
]
