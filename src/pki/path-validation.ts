import { createHash, X509Certificate } from 'node:crypto'
import * as pkijs from 'pkijs'
import type { CertificateSummary, RevocationResult } from '../domain/verdict.js'
import type { ReasonCode } from '../domain/reason-codes.js'
import { VerificationFailure, fail } from '../errors/verification-failure.js'
import { summarizeCertificate } from './certificate-summary.js'
import { checkLeafUsage, subjectAttributeMap } from './leaf-policy.js'
import { base64ToDer } from './pem.js'
import { distinguishedName, type TrustStore } from './trust-store.js'
import './pkijs-engine.js'

export interface PathValidationOptions {
  now: Date
  /**
   * Fail closed when no fresh CRL covers a certificate of the path (security.md step 4). Only an
   * operator's explicit setting turns this off.
   */
  requireRevocation: boolean
}

export interface ValidatedSigner {
  leafPem: string
  leaf: CertificateSummary
  /** Leaf first, trust anchor last. */
  chain: CertificateSummary[]
  revocation: RevocationResult
  /** Subject attribute values by OID, for registry subject rules. */
  subject: Map<string, string[]>
}

interface CacheEntry {
  from: number
  until: number
  result: ValidatedSigner | VerificationFailure
}

/**
 * Path validations are cached per (KeyInfo certificates, trust store generation), because the
 * same few agency certificates sign every document. An entry is used only inside the interval
 * in which its answer cannot change: not after the earliest CRL nextUpdate or certificate
 * notAfter it relied on, and at most five minutes.
 */
const CACHE_TTL_MS = 5 * 60 * 1000
const CACHE_MAX = 1000
const cache = new Map<string, CacheEntry>()

/** Decodes the KeyInfo certificates, finds the leaf, validates its path and its usage. */
export async function validateSigner (store: TrustStore, keyInfoBase64: readonly string[], options: PathValidationOptions): Promise<ValidatedSigner> {
  const key = createHash('sha256').update(`${store.generation}|${options.requireRevocation ? 1 : 0}|${keyInfoBase64.join('|')}`).digest('hex')
  const now = options.now.getTime()
  const hit = cache.get(key)
  if (hit != null && hit.from <= now && now < hit.until) {
    if (hit.result instanceof VerificationFailure) throw hit.result
    return hit.result
  }
  let result: ValidatedSigner | VerificationFailure
  let until = now + CACHE_TTL_MS
  try {
    const validated = await validateUncached(store, keyInfoBase64, options)
    result = validated.signer
    until = Math.min(until, validated.validUntil)
  } catch (err) {
    if (!(err instanceof VerificationFailure)) throw err
    result = err
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
  cache.set(key, { from: now, until, result })
  if (result instanceof VerificationFailure) throw result
  return result
}

interface Decoded { der: Uint8Array<ArrayBuffer>, node: X509Certificate, pkijs: pkijs.Certificate }

async function validateUncached (store: TrustStore, keyInfoBase64: readonly string[], options: PathValidationOptions): Promise<{ signer: ValidatedSigner, validUntil: number }> {
  const decoded: Decoded[] = keyInfoBase64.map(decodeCertificate)
  const leaf = findLeaf(decoded)
  try {
    return await validatePath(store, leaf, decoded.filter((d) => d !== leaf), options)
  } catch (err) {
    // The log must say which certificate was refused (revoked, expired, not fit...).
    if (err instanceof VerificationFailure) err.signer ??= summarizeCertificate(leaf.node)
    throw err
  }
}

async function validatePath (store: TrustStore, leaf: Decoded, others: Decoded[], options: PathValidationOptions): Promise<{ signer: ValidatedSigner, validUntil: number }> {
  const crls = store.crls.map((c) => c.pkijs)
  if (options.requireRevocation && crls.length === 0) {
    fail('REVOCATION_UNAVAILABLE', 'the trust store holds no CRL, so revocation cannot be checked')
  }
  // pkijs trap (security.md): the end-entity certificate must be LAST in `certs`.
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: store.anchors.map((a) => a.pkijs),
    certs: [...store.intermediates.map((c) => c.pkijs), ...others.map((d) => d.pkijs), leaf.pkijs],
    crls,
    checkDate: options.now
  })
  const verdict = await engine.verify({ passedWhenNotRevValues: !options.requireRevocation })
  if (!verdict.result) fail(mapChainError(verdict.resultCode, verdict.resultMessage), `certificate path: ${verdict.resultMessage}`)
  // pkijs leaves engine.certs as the validated path, leaf first and anchor last.
  const path = engine.certs
  const nodes = path.map((c) => new X509Certificate(Buffer.from(c.toSchema().toBER())))
  checkLeafUsage(leaf.pkijs, leaf.node)

  const crlNumbers: Record<string, string | null> = {}
  let validUntil = Math.min(...nodes.map((n) => new Date(n.validTo).getTime()))
  for (const cert of path.slice(0, -1)) {
    const issuer = distinguishedName(cert.issuer)
    // The same selection pkijs makes: a CRL of this issuer that is not past its nextUpdate.
    const crl = store.crls.find((c) => c.issuer === issuer && (c.nextUpdate == null || c.nextUpdate > options.now))
    crlNumbers[issuer] = crl?.crlNumber ?? null
    if (crl?.nextUpdate != null) validUntil = Math.min(validUntil, crl.nextUpdate.getTime())
  }
  const summaries = nodes.map(summarizeCertificate)
  return {
    signer: {
      leafPem: leaf.node.toString(),
      leaf: summaries[0] as CertificateSummary,
      chain: summaries,
      revocation: { checked: crls.length > 0, crlNumbers },
      subject: subjectAttributeMap(leaf.pkijs)
    },
    validUntil
  }
}

function decodeCertificate (b64: string, index: number): Decoded {
  try {
    const der = base64ToDer(b64)
    const node = new X509Certificate(der)
    // OpenSSL decodes a certificate whose validity does not parse and reports "Bad time value";
    // every later step (dates, the signature log) would then throw instead of giving a verdict.
    if (Number.isNaN(Date.parse(node.validFrom)) || Number.isNaN(Date.parse(node.validTo))) {
      fail('CERT_MALFORMED', `X509Certificate #${index + 1} in KeyInfo has a validity period that does not parse (${node.validFrom} - ${node.validTo})`)
    }
    return { der, node, pkijs: pkijs.Certificate.fromBER(der) }
  } catch (err) {
    if (err instanceof VerificationFailure) throw err
    fail('CERT_MALFORMED', `X509Certificate #${index + 1} in KeyInfo cannot be decoded: ${(err as Error).message}`)
  }
}

/**
 * The signing certificate is the one KeyInfo certificate that issued none of the others. KeyInfo
 * may carry the chain in any order (xmlsec1 and Java signers differ).
 */
function findLeaf (certs: Decoded[]): Decoded {
  const leaves = certs.filter((c) => !certs.some((other) => other !== c && other.node.checkIssued(c.node)))
  if (leaves.length !== 1) fail('CERT_MALFORMED', `KeyInfo certificates do not form a single chain (${leaves.length} end-entity candidates)`)
  return leaves[0] as Decoded
}

function mapChainError (code: number, message: string): ReasonCode {
  switch (code) {
    case 8: return 'CERT_EXPIRED'
    case 12: return 'CERT_REVOKED'
    case 11: return 'REVOCATION_UNAVAILABLE'
    default:
      // 60/97 "no path to a trusted certificate", 10 name chaining, 3-7/13/14 CA constraints
      // broken along the path: all mean the certificate is not trusted.
      return /revocation/i.test(message) ? 'REVOCATION_UNAVAILABLE' : 'CERT_UNTRUSTED'
  }
}
