/**
 * Where the time goes: both variants re-run step by step from the same building blocks, each
 * step timed on its own in CPU time (user + system of this process: on a shared machine wall
 * time would mostly measure the neighbours). `bare` and `inside checkSignature` are the xml-crypto
 * baseline (a naive integrator's verifier, kept as a devDependency for this comparison only). The
 * full-policy steps are those of today's one-pass verifyDocument() in
 * src/verification/verify-document.ts (keep them in step with it): one strict parse that keeps
 * only the envelope and the signature and streams the canonical document into the Reference
 * digest, the checks over the kept parts, path validation (cached), and SignedInfo + RSA. The
 * totals are close to, not identical with, the throughput numbers (no await between steps).
 */
import { createHash } from 'node:crypto'
import { DOMParser } from '@xmldom/xmldom'
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto'
import { envelopeKeepPolicy, validateEdxmlEnvelope } from '../../src/edxml/envelope-schema.js'
import { DSIG_NS } from '../../src/edxml/namespaces.js'
import { readSignedEnvelope } from '../../src/edxml/signed-envelope-fields.js'
import { validateSigner } from '../../src/pki/path-validation.js'
import { EnvelopeUniqueness } from '../../src/edxml/envelope-uniqueness.js'
import { EDXML_SIGNATURE_PLACE, parseForVerification } from '../../src/verification/xmldsig-steps.js'
import { checkSignature } from '../../src/xmldsig/check-signature.js'
import { DEFAULT_PARSE_LIMITS } from '../../src/xmldsig/parse.js'
import { HASH_OF, readSignatureProfile } from '../../src/xmldsig/signature-profile.js'
import {
  canonicalBudget, excludeFirstSignature, predictReferenceDigest, referenceDigest, referenceDigestSetting, StreamedDigest, type ReferenceDigestSetting
} from '../../src/xmldsig/stream-c14n.js'
import type { VerificationPolicy } from '../../src/verification/verification-policy.js'
import { G22 } from './fixtures.js'

export type StepGroup = 'full' | 'bare' | 'inside checkSignature'

export interface Step {
  group: StepGroup
  name: string
  /** Mean CPU milliseconds per document. */
  ms: number
  /** Measured for comparison (part of another step's work, or work the verifier does not do): not in the sum. */
  aside?: boolean
}

type Timer = <T>(name: string, f: () => T) => T
type AsyncTimer = <T>(name: string, f: () => Promise<T>) => Promise<T>

/** A step of the one-pass verifier that the table shows split, measured apart and left out of the sum. */
export const ASIDE_PREFIX = 'of which: '

async function fullSteps (bytes: Buffer, policy: VerificationPolicy, time: Timer, timeAsync: AsyncTimer): Promise<void> {
  time('sha256 of the bytes (the verdict\'s digestSha256)', () => createHash('sha256').update(bytes).digest('hex'))
  const guess = time('guess the Reference settings from the bytes', () => predictReferenceDigest(bytes))
  const uniqueness = new EnvelopeUniqueness()
  const streamed = new StreamedDigest(guess, excludeFirstSignature(), canonicalBudget(bytes.length))
  const doc = time('one pass: strict tokenizer + kept parts + uniqueness + streamed C14N into the digest', () =>
    parseForVerification(bytes, policy, { keep: envelopeKeepPolicy(uniqueness.observe), also: streamed.canonicalizer }))
  // The same pass without the canonicalizer: how the one pass divides between parsing and C14N.
  time(`${ASIDE_PREFIX}the same pass without C14N (tokenizer + kept parts)`, () =>
    parseForVerification(bytes, policy, { keep: envelopeKeepPolicy(new EnvelopeUniqueness().observe) }))
  const schema = time('validateEdxmlEnvelope (kept parts) + uniqueness finding', () => {
    const checked = validateEdxmlEnvelope(doc)
    if (!uniqueness.finding().ok) throw new Error('breakdown: the envelope is ambiguous')
    return checked
  })
  if (!schema.ok) throw new Error(`breakdown: schema rejected the document: ${schema.message}`)
  const envelope = time('readSignedEnvelope', () => readSignedEnvelope(doc, schema.kind))
  const agency = time('registry.signer', () => policy.registry.signer(envelope.from.organId))
  if (agency == null) throw new Error('breakdown: the sender is not in the registry')
  const profile = time('readSignatureProfile', () => readSignatureProfile(doc, agency.allowWeakAlgorithms === true, EDXML_SIGNATURE_PLACE))
  const signer = await timeAsync('validateSigner (cached)', async () => await validateSigner(policy.trustStore, profile.certificates, {
    now: policy.now?.() ?? new Date(),
    requireRevocation: policy.requireRevocation
  }))
  const bound = time('registry.binds', () => policy.registry.binds(agency, { fingerprintSha256: signer.leaf.fingerprintSha256, subject: signer.subject }))
  if (!bound) throw new Error('breakdown: sender binding failed')
  const digest = time('Reference digest: settings checked, streamed hash finished', () => {
    const setting = referenceDigestSetting(profile.referenceCanonicalization, profile.referencePrefixes, HASH_OF[profile.digestMethod] as ReferenceDigestSetting['hash'])
    const result = referenceDigest(bytes, streamed, setting, { ...DEFAULT_PARSE_LIMITS, maxDepth: policy.maxDepth })
    if (result.passes !== 1) throw new Error('breakdown: the guessed Reference settings were wrong (a second pass)')
    return result.digest
  })
  time('checkSignature: digest compared, SignedInfo C14N + RSA verify', () => { checkSignature(doc, profile, signer.leafPem, () => digest) })
}

function bareSteps (bytes: Buffer, time: Timer): void {
  const xml = time('Buffer.toString (utf8)', () => bytes.toString('utf8'))
  const doc = time('xmldom parse', () => new DOMParser().parseFromString(xml, 'text/xml'))
  const sig = new SignedXml({ publicCert: G22.certificatePem, getCertFromKeyInfo: () => null })
  const signature = time('findSignatures (XPath)', () => sig.findSignatures(doc as unknown as Node)[0])
  if (signature == null) throw new Error('breakdown: no signature')
  time('loadSignature', () => sig.loadSignature(signature))
  const valid = time('checkSignature (xml-crypto)', () => sig.checkSignature(xml))
  if (!valid) throw new Error('breakdown: bare checkSignature() returned false')
}

/**
 * What xml-crypto's checkSignature() spends its time on, for both variants alike: it parses its
 * own copy of the document, deep-clones the referenced element, drops the signature (enveloped
 * transform), canonicalizes and hashes; the rest is XPath look-ups and the RSA check.
 */
function insideCheckSignature (bytes: Buffer, time: Timer): void {
  const xml = bytes.toString('utf8')
  const doc = time('xmldom re-parse of the document', () => new DOMParser().parseFromString(xml, 'text/xml'))
  const clone = time('deep clone of the document element', () => doc.documentElement.cloneNode(true) as Element)
  const signature = clone.getElementsByTagNameNS(DSIG_NS, 'Signature').item(0)
  signature?.parentNode?.removeChild(signature)
  const canonical = time('exclusive C14N of the document', () => new ExclusiveCanonicalization().process(clone, {}))
  time('SHA-256 of the canonical string', () => createHash('sha256').update(canonical, 'utf8').digest('base64'))
}

/** Runs `iterations` rounds (after `warmup` unrecorded ones), alternating the variants, and averages. */
export async function breakdown (bytes: Buffer, policy: VerificationPolicy, iterations: number, warmup = 1): Promise<Step[]> {
  const totals = new Map<string, Step>()
  let record = false
  const add = (group: StepGroup, name: string, ms: number): void => {
    if (!record) return
    const key = `${group}|${name}`
    const step = totals.get(key) ?? { group, name, ms: 0, ...(name.startsWith(ASIDE_PREFIX) ? { aside: true } : {}) }
    step.ms += ms
    totals.set(key, step)
  }
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since)
    return (used.user + used.system) / 1000
  }
  const timer = (group: StepGroup): Timer => (name, f) => {
    const start = process.cpuUsage()
    try {
      return f()
    } finally {
      add(group, name, cpuMs(start))
    }
  }
  const asyncTimer = (group: StepGroup): AsyncTimer => async (name, f) => {
    const start = process.cpuUsage()
    try {
      return await f()
    } finally {
      add(group, name, cpuMs(start))
    }
  }
  for (let round = 0; round < warmup + iterations; round++) {
    record = round >= warmup
    bareSteps(bytes, timer('bare'))
    insideCheckSignature(bytes, timer('inside checkSignature'))
    await fullSteps(bytes, policy, timer('full'), asyncTimer('full'))
  }
  return [...totals.values()].map((s) => ({ ...s, ms: s.ms / iterations }))
}
