import { createHash } from 'node:crypto'
import { validateEdxmlEnvelope } from '../edxml/envelope-schema.js'
import { readSignedEnvelope } from '../edxml/signed-envelope-fields.js'
import { validateSigner, type ValidatedSigner } from '../pki/path-validation.js'
import type { SignerIdentity } from '../registry/agency-registry.js'
import { shortAlgorithmName } from './algorithms.js'
import { checkSignatureCryptography } from './crypto-check.js'
import { parseXmlStrict, XmlRefusal } from './parse-xml.js'
import { inspectSignature, type SignatureShape } from './signature-structure.js'
import { VerificationFailure, fail } from './verification-failure.js'
import type { VerificationPolicy } from './verification-policy.js'
import type { AlgorithmsUsed, Rejected, SignedEnvelope, Verdict } from './verdict.js'

/**
 * The verification pipeline: bytes + policy in, verdict out. Implements security.md in order;
 * each step either passes or ends the pipeline with one stable reason code. Never throws for
 * bad input: anything unexpected inside a step is a bug and propagates as an exception.
 */
export async function verifyDocument (bytes: Buffer, policy: VerificationPolicy): Promise<Verdict> {
  const digestSha256 = createHash('sha256').update(bytes).digest('hex')
  const facts: Partial<Rejected> = {}
  try {
    // 1. Size cap before anything else; DTD refusal and strict, depth-bounded parsing.
    if (bytes.length > policy.maxBytes) fail('PAYLOAD_TOO_LARGE', `the document has ${bytes.length} bytes; the cap is ${policy.maxBytes}`)
    const xml = decode(bytes)
    const doc = parse(xml, policy.maxDepth)

    // The schema is the boundary: nothing below looks at a document that is not edXML.
    const schema = validateEdxmlEnvelope(doc)
    if (!schema.ok) fail('SCHEMA_INVALID', `${schema.path}: ${schema.message}`)

    // The claimed sender, unverified: used only to pick the registry entry whose settings
    // (weak algorithms) apply. Sender binding in step 5 decides whether the claim holds.
    // The envelope as claimed: trusted only once step 6 has passed, reported in rejections.
    const envelope: SignedEnvelope = readSignedEnvelope(doc, schema.kind)
    const claimedSender = envelope.from.organId
    facts.claimedSender = claimedSender
    facts.envelope = envelope
    const agency = policy.registry.get(claimedSender)

    // 2-3. One signature, one SignedInfo, one Reference covering the document; allow-lists.
    const shape = inspectSignature(doc, agency?.allowWeakAlgorithms === true)
    facts.algorithms = algorithmsOf(shape)

    // 4. The certificate from KeyInfo is untrusted input: full path validation + leaf usage.
    const signer = await validateSigner(policy.trustStore, shape.certificates, {
      now: policy.now?.() ?? new Date(),
      requireRevocation: policy.requireRevocation
    })
    facts.signer = signer.leaf
    facts.revocation = signer.revocation

    // 5. Sender binding: the certificate must belong to the agency named in From/OrganId.
    if (agency == null) fail('AGENCY_UNKNOWN', `the sending agency ${claimedSender || '(empty)'} is not in the agency registry`)
    if (!policy.registry.binds(agency, identityOf(signer))) {
      fail('SENDER_MISMATCH', `the certificate of ${signer.leaf.subject} is not registered to agency ${claimedSender}`)
    }

    // 6. Cryptographic check with the validated certificate.
    checkSignatureCryptography(xml, shape, signer.leafPem)

    // 7. The envelope was read from this DOM, now verified; see signed-envelope-fields.ts for
    // why its text equals the signed bytes.
    return {
      verdict: 'accepted',
      envelope,
      signer: signer.leaf,
      chain: signer.chain,
      agency: agency.code,
      algorithms: facts.algorithms,
      revocation: signer.revocation,
      flags: shape.weak ? ['weak'] : [],
      digestSha256
    }
  } catch (err) {
    if (err instanceof VerificationFailure) {
      if (err.signer != null) facts.signer ??= err.signer
      return { verdict: 'rejected', code: err.code, detail: err.message, digestSha256, ...facts }
    }
    throw err
  }
}

function decode (bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    fail('XML_MALFORMED', 'the bytes are not valid UTF-8')
  }
}

function parse (xml: string, maxDepth: number): Document {
  try {
    return parseXmlStrict(xml, { maxDepth })
  } catch (err) {
    if (err instanceof XmlRefusal) fail(err.code, err.message)
    throw err
  }
}

/** The algorithms of a signature, by short name (signature log, CLI). */
export function algorithmsOf (shape: SignatureShape): AlgorithmsUsed {
  return {
    canonicalization: shortAlgorithmName(shape.canonicalization),
    signature: shortAlgorithmName(shape.signatureMethod),
    digest: shortAlgorithmName(shape.digestMethod),
    transforms: shape.transforms.map((t) => shortAlgorithmName(t) as string)
  }
}

function identityOf (signer: ValidatedSigner): SignerIdentity {
  return { fingerprintSha256: signer.leaf.fingerprintSha256, subject: signer.subject }
}
