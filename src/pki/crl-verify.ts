/**
 * Which CRLs the hub relies on. A CRL is used only when a CA of the trust store issued it and its
 * signature verifies under that CA's key (a CRL from a URL or from the database is otherwise just
 * bytes anyone could have written), and of several CRLs of one issuer only the newest counts, so
 * an older CRL served again (rollback: a certificate revoked since then looks good again) is never
 * preferred to the one already held.
 */
import type * as pkijs from 'pkijs'
import { decodeCrl, type LoadedCertificate, type LoadedCrl, type TrustStore } from './trust-store.js'
import './pkijs-engine.js'

export type CrlRefusalCode = 'CRL_MALFORMED' | 'CRL_ISSUER_UNKNOWN' | 'CRL_SIGNATURE_INVALID' | 'CRL_UNSUPPORTED'

export class CrlRefusedError extends Error {
  constructor (readonly code: CrlRefusalCode, message: string) {
    super(message)
    this.name = 'CrlRefusedError'
  }
}

/** A CRL held outside the trust directory (fetched, kept in the database): DER and where it came from. */
export interface ExtraCrl {
  der: Uint8Array
  source: string
}

const KEY_USAGE_OID = '2.5.29.15'

/**
 * The CA of `store` that signed `crl`; throws CrlRefusedError otherwise. Refuses CRLs with a
 * critical extension (RFC 5280 5.2: a CRL with an unrecognised critical extension must not be
 * used; delta CRLs and partitioned CRLs, whose scope is not "every certificate of this issuer",
 * are marked that way) and CAs whose keyUsage does not include cRLSign.
 */
export async function verifyCrl (store: TrustStore, crl: LoadedCrl): Promise<LoadedCertificate> {
  const critical = [
    ...(crl.pkijs.crlExtensions?.extensions ?? []),
    ...(crl.pkijs.revokedCertificates ?? []).flatMap((r) => r.crlEntryExtensions?.extensions ?? [])
  ].filter((e) => e.critical)
  if (critical.length > 0) {
    throw new CrlRefusedError('CRL_UNSUPPORTED', `CRL of ${crl.issuer} has critical extension(s) ${critical.map((e) => e.extnID).join(', ')} (delta, partitioned or indirect CRLs are not supported)`)
  }
  const candidates = [...store.anchors, ...store.intermediates].filter((c) => c.pkijs.subject.isEqual(crl.pkijs.issuer))
  if (candidates.length === 0) throw new CrlRefusedError('CRL_ISSUER_UNKNOWN', `CRL issuer ${crl.issuer} is not a CA of the trust store`)
  let signerWithoutUsage: LoadedCertificate | undefined
  for (const candidate of candidates) {
    if (!(await signatureVerifies(crl.pkijs, candidate.pkijs))) continue
    if (!maySignCrls(candidate.pkijs)) {
      signerWithoutUsage = candidate
      continue
    }
    return candidate
  }
  if (signerWithoutUsage != null) throw new CrlRefusedError('CRL_SIGNATURE_INVALID', `CRL of ${crl.issuer} is signed by a CA whose keyUsage lacks cRLSign`)
  throw new CrlRefusedError('CRL_SIGNATURE_INVALID', `CRL signature does not verify under the key of ${crl.issuer} in the trust store`)
}

async function signatureVerifies (crl: pkijs.CertificateRevocationList, issuer: pkijs.Certificate): Promise<boolean> {
  try {
    return await crl.verify({ issuerCertificate: issuer })
  } catch {
    // pkijs throws on unsupported or mismatched algorithms: not verified either way.
    return false
  }
}

function maySignCrls (cert: pkijs.Certificate): boolean {
  const ext = cert.extensions?.find((e) => e.extnID === KEY_USAGE_OID)
  if (ext?.parsedValue == null) return true
  // keyUsage BIT STRING: cRLSign is bit 6, 0x02 of the first byte (as pkijs checks it).
  const bits = (ext.parsedValue as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView
  return ((bits[0] ?? 0) & 0x02) !== 0
}

/**
 * Whether `candidate` supersedes `held` (same issuer). With CRL numbers on both, the number must
 * grow (RFC 5280 5.2.3) and thisUpdate must not go back; without, thisUpdate must be later. An
 * equal CRL, or one inconsistent in its number and date, is not newer.
 */
export function isNewerCrl (candidate: Pick<LoadedCrl, 'crlNumber' | 'thisUpdate'>, held: Pick<LoadedCrl, 'crlNumber' | 'thisUpdate'>): boolean {
  if (candidate.crlNumber != null && held.crlNumber != null) {
    return BigInt(candidate.crlNumber) > BigInt(held.crlNumber) && candidate.thisUpdate.getTime() >= held.thisUpdate.getTime()
  }
  return candidate.thisUpdate.getTime() > held.thisUpdate.getTime()
}

export interface CrlMerge {
  store: TrustStore
  /** Extra CRLs that were not used, and why (the store keeps what it had for their issuer). */
  rejected: Array<{ source: string, code: CrlRefusalCode, message: string }>
}

/**
 * `store` with `extra` CRLs merged in: each is verified against the store's CAs first (a CRL read
 * back from the database is checked again, not trusted because it is there), then of all CRLs of
 * an issuer, the directory's and the extra ones, only the newest is kept.
 */
export async function mergeCrls (store: TrustStore, extra: readonly ExtraCrl[]): Promise<CrlMerge> {
  const rejected: CrlMerge['rejected'] = []
  const accepted: LoadedCrl[] = []
  for (const { der, source } of extra) {
    try {
      let crl: LoadedCrl
      try {
        crl = decodeCrl(new Uint8Array(der), source)
      } catch (err) {
        throw new CrlRefusedError('CRL_MALFORMED', `cannot decode the CRL: ${(err as Error).message}`)
      }
      await verifyCrl(store, crl)
      accepted.push(crl)
    } catch (err) {
      if (!(err instanceof CrlRefusedError)) throw err
      rejected.push({ source, code: err.code, message: err.message })
    }
  }
  const newest = new Map<string, LoadedCrl>()
  for (const crl of [...store.crls, ...accepted]) {
    const held = newest.get(crl.issuer)
    if (held == null || isNewerCrl(crl, held)) newest.set(crl.issuer, crl)
  }
  return { store: store.withCrlList([...newest.values()]), rejected }
}
