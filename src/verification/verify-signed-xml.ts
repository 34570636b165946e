import { createHash } from 'node:crypto'
import { validateSigner } from '../pki/path-validation.js'
import { readSignatureProfile } from '../xmldsig/signature-profile.js'
import type { XmlDocument, XmlElement } from '../xmldsig/xml-tree.js'
import { EDXML_SIGNATURE_PLACE, parseForVerification, xmldsigStep } from './xmldsig-steps.js'
import { VerificationFailure, fail } from '../errors/verification-failure.js'
import type { VerificationPolicy } from './verification-policy.js'
import type { ReasonCode } from '../domain/reason-codes.js'
import type { AlgorithmsUsed, CertificateSummary, RevocationResult } from '../domain/verdict.js'
import { algorithmsOf, verifyCryptography } from './verify-document.js'

export type SignedXmlVerdict =
  /** `tree` is the verified document minus nothing: every node but `signature` is signed content. */
  | { ok: true, digestSha256: string, signer: CertificateSummary, chain: CertificateSummary[], algorithms: AlgorithmsUsed, revocation: RevocationResult, tree: XmlDocument, signature: XmlElement }
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
    const doc = parseForVerification(bytes, policy)
    const agency = policy.registry.get(expectedAgency)
    if (agency == null) fail('AGENCY_UNKNOWN', `agency ${expectedAgency} is not in the agency registry`)
    // A receipt is a root of its own: the signature is a child of the root (or, for an edXML
    // status used as a receipt, where edXML puts it).
    const profile = xmldsigStep(() => readSignatureProfile(doc, agency.allowWeakAlgorithms === true, EDXML_SIGNATURE_PLACE))
    algorithms = algorithmsOf(profile)
    const validated = await validateSigner(policy.trustStore, profile.certificates, {
      now: policy.now?.() ?? new Date(),
      requireRevocation: policy.requireRevocation
    })
    signer = validated.leaf
    if (!policy.registry.binds(agency, { fingerprintSha256: validated.leaf.fingerprintSha256, subject: validated.subject })) {
      fail('SENDER_MISMATCH', `the certificate of ${validated.leaf.subject} is not registered to agency ${expectedAgency}`)
    }
    verifyCryptography(doc, profile, validated.leafPem)
    return { ok: true, digestSha256, signer: validated.leaf, chain: validated.chain, algorithms, revocation: validated.revocation, tree: doc, signature: profile.signature }
  } catch (err) {
    if (err instanceof VerificationFailure) {
      const who = err.signer ?? signer
      return { ok: false, digestSha256, code: err.code, detail: err.message, ...(who != null ? { signer: who } : {}), ...(algorithms != null ? { algorithms } : {}) }
    }
    throw err
  }
}
