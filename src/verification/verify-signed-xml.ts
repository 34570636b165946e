import { createHash } from 'node:crypto'
import { validateSigner } from '../pki/path-validation.js'
import { checkSignatureCryptography } from './crypto-check.js'
import { parseXmlStrict, XmlRefusal } from './parse-xml.js'
import { inspectSignature } from './signature-structure.js'
import { VerificationFailure, fail } from './verification-failure.js'
import type { VerificationPolicy } from './verification-policy.js'
import type { ReasonCode } from './reason-codes.js'
import type { AlgorithmsUsed, CertificateSummary, RevocationResult } from './verdict.js'
import { algorithmsOf } from './verify-document.js'

export type SignedXmlVerdict =
  | { ok: true, digestSha256: string, signer: CertificateSummary, chain: CertificateSummary[], algorithms: AlgorithmsUsed, revocation: RevocationResult }
  | { ok: false, digestSha256: string, code: ReasonCode, detail: string, signer?: CertificateSummary, algorithms?: AlgorithmsUsed }

/**
 * An XML-DSig signed XML that is not an edXML envelope (a recipient's own receipt), signed by an
 * agency known in advance: the same steps as verify-document.ts minus the edXML schema, with the
 * same defences (strict depth-bounded parsing without DTDs; one signature over the whole
 * document in a standard place; algorithm allow-list; full path validation with revocation;
 * the certificate bound to `expectedAgency` in the registry; cryptography checked last, with the
 * validated certificate only).
 */
export async function verifySignedXml (bytes: Buffer, policy: VerificationPolicy, expectedAgency: string): Promise<SignedXmlVerdict> {
  const digestSha256 = createHash('sha256').update(bytes).digest('hex')
  let signer: CertificateSummary | undefined
  let algorithms: AlgorithmsUsed | undefined
  try {
    if (bytes.length > policy.maxBytes) fail('PAYLOAD_TOO_LARGE', `${bytes.length} bytes; the cap is ${policy.maxBytes}`)
    let xml: string
    try {
      xml = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    } catch {
      fail('XML_MALFORMED', 'the bytes are not valid UTF-8')
    }
    let doc: Document
    try {
      doc = parseXmlStrict(xml, { maxDepth: policy.maxDepth })
    } catch (err) {
      if (err instanceof XmlRefusal) fail(err.code, err.message)
      throw err
    }
    const agency = policy.registry.get(expectedAgency)
    if (agency == null) fail('AGENCY_UNKNOWN', `agency ${expectedAgency} is not in the agency registry`)
    const shape = inspectSignature(doc, agency.allowWeakAlgorithms === true)
    algorithms = algorithmsOf(shape)
    const validated = await validateSigner(policy.trustStore, shape.certificates, {
      now: policy.now?.() ?? new Date(),
      requireRevocation: policy.requireRevocation
    })
    signer = validated.leaf
    if (!policy.registry.binds(agency, { fingerprintSha256: validated.leaf.fingerprintSha256, subject: validated.subject })) {
      fail('SENDER_MISMATCH', `the certificate of ${validated.leaf.subject} is not registered to agency ${expectedAgency}`)
    }
    checkSignatureCryptography(xml, shape, validated.leafPem)
    return { ok: true, digestSha256, signer: validated.leaf, chain: validated.chain, algorithms, revocation: validated.revocation }
  } catch (err) {
    if (err instanceof VerificationFailure) {
      const who = err.signer ?? signer
      return { ok: false, digestSha256, code: err.code, detail: err.message, ...(who != null ? { signer: who } : {}), ...(algorithms != null ? { algorithms } : {}) }
    }
    throw err
  }
}
