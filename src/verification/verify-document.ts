import { createHash } from 'node:crypto'
import { EnvelopeUniqueness } from '../edxml/envelope-uniqueness.js'
import { envelopeKeepPolicy, validateEdxmlEnvelope } from '../edxml/envelope-schema.js'
import { readSignedEnvelope } from '../edxml/signed-envelope-fields.js'
import { validateSigner, type ValidatedSigner } from '../pki/path-validation.js'
import type { SignerIdentity } from '../registry/agency-registry.js'
import type { XmlDocument } from '../xmldsig/xml-tree.js'
import { checkSignature } from '../xmldsig/check-signature.js'
import { DEFAULT_PARSE_LIMITS, XmlRefusal } from '../xmldsig/parse.js'
import { HASH_OF, readSignatureProfile, type SignatureProfile } from '../xmldsig/signature-profile.js'
import { canonicalBudget, excludeFirstSignature, predictReferenceDigest, referenceDigest, referenceDigestSetting, StreamedDigest, type ReferenceDigestSetting } from '../xmldsig/stream-c14n.js'
import { shortAlgorithmName } from './algorithms.js'
import { EDXML_SIGNATURE_PLACE, parseForVerification, xmldsigStep } from './xmldsig-steps.js'
import { VerificationFailure, fail } from '../errors/verification-failure.js'
import type { VerificationPolicy } from './verification-policy.js'
import type { AlgorithmsUsed, Rejected, SignedEnvelope, UnboundSigner, Verdict } from '../domain/verdict.js'

export interface VerifyDocumentOptions {
  /**
   * The agency the caller authenticated as. Checked against From/OrganId as soon as the
   * envelope is read, before any certificate or signature work: a credential of agency A
   * costs the hub nothing more than a parse when it submits a document "from" B.
   */
  expectedSender?: string
  /**
   * The submission came through the VDXP API: a document without any signature is accepted when
   * the sender's registry entry says allowUnsignedEnvelopes (and only then), flagged
   * `unsigned-envelope`. The sender is then bound by the VDXP system's HMAC alone.
   */
  unsignedAllowed?: boolean
  /**
   * A peer hub forwarded the document (POST /peer/v1/documents). A sender that is neither an
   * agency of this hub nor pinned in `peerAgencies` is then not refused as AGENCY_UNKNOWN: the
   * document is verified in full except the sender binding, and the accepted verdict carries the
   * signer as `unboundSigner` for the caller to bind against the origin hub's signed directory
   * (docs/directory.md, "Sender binding of forwarded documents"). The registry, when it knows
   * the sender, still decides (an explicit entry overrides any directory).
   */
  forwarded?: boolean
}

/**
 * The verification pipeline: bytes + policy in, verdict out. Implements security.md in order;
 * each step either passes or ends the pipeline with one stable reason code. Never throws for
 * bad input: anything unexpected inside a step is a bug and propagates as an exception.
 *
 * Every step is linear in the input: one strict parse (bounds enforced while parsing) that
 * also streams the canonical document into the digest, checks over the kept parts and the
 * counts the parser made; a second streamed pass only when the signature's settings were not
 * those guessed.
 */
export async function verifyDocument (bytes: Buffer, policy: VerificationPolicy, options: VerifyDocumentOptions = {}): Promise<Verdict> {
  const digestSha256 = createHash('sha256').update(bytes).digest('hex')
  const facts: Partial<Rejected> = {}
  try {
    // 1. Size cap before anything else; strict XML 1.0 + Namespaces, UTF-8, no DTD, no PI, bounded.
    if (bytes.length > policy.maxBytes) fail('PAYLOAD_TOO_LARGE', `the document has ${bytes.length} bytes; the cap is ${policy.maxBytes}`)
    // One pass: the tokens build only the kept parts (the envelope fields the grammar checks
    // and the signature) and, at the same time, go through C14N into the Reference digest
    // with the settings guessed from the bytes (step 6 checks the guess; docs/verification.md).
    const uniqueness = new EnvelopeUniqueness()
    const streamed = new StreamedDigest(predictReferenceDigest(bytes), excludeFirstSignature(), canonicalBudget(bytes.length))
    const doc = parseForVerification(bytes, policy, { keep: envelopeKeepPolicy(uniqueness.observe), also: streamed.canonicalizer })

    // The schema is the boundary: nothing below looks at a document that is not edXML.
    const schema = validateEdxmlEnvelope(doc)
    if (!schema.ok) fail(schema.code, `${schema.path}: ${schema.message}`)
    const unique = uniqueness.finding()
    if (!unique.ok) fail('ENVELOPE_AMBIGUOUS', unique.message)

    // The envelope as claimed: trusted only once step 6 has passed, reported in rejections.
    // It is read from the very tokens that step 6's digest canonicalised.
    const envelope: SignedEnvelope = readSignedEnvelope(doc, schema.kind)
    const claimedSender = envelope.from.organId
    facts.claimedSender = claimedSender
    facts.envelope = envelope
    if (options.expectedSender != null && options.expectedSender !== claimedSender) {
      fail('SENDER_MISMATCH', `authenticated as ${options.expectedSender}, but the document is from ${claimedSender || '(empty)'}`)
    }
    // The claimed sender picks the registry entry whose settings (weak algorithms) apply;
    // sender binding in step 5 decides whether the claim holds. An agency of a peer hub has one
    // too (`peerAgencies`): documents it signs arrive forwarded by that peer.
    const agency = policy.registry.signer(claimedSender)

    // 2-3. One signature, one SignedInfo, one Reference covering the document; allow-lists.
    let profile: SignatureProfile
    try {
      profile = xmldsigStep(() => readSignatureProfile(doc, agency?.allowWeakAlgorithms === true, EDXML_SIGNATURE_PLACE))
    } catch (err) {
      // No signature at all, from an agency allowed to send unsigned envelopes through VDXP.
      if (err instanceof VerificationFailure && err.code === 'SIGNATURE_MISSING' && options.unsignedAllowed === true && agency?.allowUnsignedEnvelopes === true) {
        return { verdict: 'accepted', envelope, chain: [], agency: agency.code, algorithms: {}, revocation: { checked: false, crlNumbers: {} }, flags: ['unsigned-envelope'], digestSha256 }
      }
      throw err
    }
    facts.algorithms = algorithmsOf(profile)

    // 4. The certificate from KeyInfo is untrusted input: full path validation + leaf usage.
    const signer = await validateSigner(policy.trustStore, profile.certificates, {
      now: policy.now?.() ?? new Date(),
      requireRevocation: policy.requireRevocation
    })
    facts.signer = signer.leaf
    facts.revocation = signer.revocation

    // 5. Sender binding: the certificate must belong to the agency named in From/OrganId.
    let unboundSigner: UnboundSigner | undefined
    if (agency == null) {
      if (options.forwarded !== true || claimedSender === '') fail('AGENCY_UNKNOWN', `the sending agency ${claimedSender || '(empty)'} is not in the agency registry`)
      // Forwarded by a peer: bound by the caller against the origin hub's signed directory,
      // after the cryptographic check below (a forged signature is refused as such here).
      unboundSigner = { fingerprintSha256: signer.leaf.fingerprintSha256, subject: Object.fromEntries(signer.subject) }
    } else if (!policy.registry.binds(agency, identityOf(signer))) {
      fail('SENDER_MISMATCH', `the certificate of ${signer.leaf.subject} is not registered to agency ${claimedSender}`)
    }

    // 6. Cryptographic check with the validated certificate; the digest is the streamed one
    // when the settings the signature names are those it was computed with.
    const setting = referenceDigestSetting(profile.referenceCanonicalization, profile.referencePrefixes, HASH_OF[profile.digestMethod] as ReferenceDigestSetting['hash'])
    verifyCryptography(doc, profile, signer.leafPem, () => {
      try {
        return referenceDigest(bytes, streamed, setting, { ...DEFAULT_PARSE_LIMITS, maxDepth: policy.maxDepth }).digest
      } catch (err) {
        if (err instanceof XmlRefusal) fail(err.code, err.message)
        throw err
      }
    })

    // 7. The envelope was read from the tokens that were digested, now verified.
    return {
      verdict: 'accepted',
      envelope,
      signer: signer.leaf,
      chain: signer.chain,
      agency: agency?.code ?? claimedSender,
      algorithms: facts.algorithms,
      revocation: signer.revocation,
      flags: profile.weak ? ['weak'] : [],
      digestSha256,
      ...(unboundSigner != null ? { unboundSigner } : {})
    }
  } catch (err) {
    if (err instanceof VerificationFailure) {
      if (err.signer != null) facts.signer ??= err.signer
      return { verdict: 'rejected', code: err.code, detail: err.message, digestSha256, ...facts }
    }
    throw err
  }
}

export function verifyCryptography (doc: XmlDocument, profile: SignatureProfile, signerPem: string, referenceDigest?: () => Buffer): void {
  xmldsigStep(() => { checkSignature(doc, profile, signerPem, referenceDigest) })
}

/** The algorithms of a signature, by short name (signature log, CLI). */
export function algorithmsOf (profile: SignatureProfile): AlgorithmsUsed {
  return {
    canonicalization: shortAlgorithmName(profile.canonicalization),
    signature: shortAlgorithmName(profile.signatureMethod),
    digest: shortAlgorithmName(profile.digestMethod),
    transforms: profile.transforms.map((t) => shortAlgorithmName(t) as string)
  }
}

function identityOf (signer: ValidatedSigner): SignerIdentity {
  return { fingerprintSha256: signer.leaf.fingerprintSha256, subject: signer.subject }
}
