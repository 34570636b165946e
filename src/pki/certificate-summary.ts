import { X509Certificate } from 'node:crypto'
import type { CertificateSummary } from '../domain/verdict.js'

/** The facts about a certificate that the signature log and the CLI report. */
export function summarizeCertificate (cert: X509Certificate): CertificateSummary {
  const keyBits = cert.publicKey.asymmetricKeyDetails?.modulusLength
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    serialNumber: cert.serialNumber.toLowerCase(),
    fingerprintSha256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    ...(keyBits != null ? { keyBits } : {})
  }
}

/** Node prints a DN one attribute per line; the log wants one line. */
function oneLine (dn: string): string {
  return dn.split('\n').filter((s) => s !== '').join(', ')
}
