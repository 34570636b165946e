import { KeyUsageBit } from '../../src/pki/example-pki/asn1.js'
import { subjectName } from '../../src/pki/example-pki/agencies.js'
import { issueCertificate, type Issued } from '../../src/pki/example-pki/issue.js'
import { certificatePem, fingerprint, privateKeyPem } from '../../src/pki/example-pki/keys.js'
import { testRsaKeyPair } from './test-keys.js'

/** A TLS server certificate made for a test: PEM (leaf + CA) and key, and its SHA-256 fingerprint. */
export interface ServerCert {
  cert: Buffer
  key: Buffer
  fingerprint: string
}

/**
 * A throw-away CA with TLS server certificates under it (SAN 127.0.0.1 and localhost), for push
 * tests that need several servers the same CA vouches for: the one registered, and impostors.
 */
export async function serverPki (subjects: Array<{ O?: string, CN: string, UID?: string }>): Promise<{ ca: Buffer, certs: ServerCert[] }> {
  const now = Date.now()
  const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 86_400_000) }
  const [caKeys, ...leafKeys] = await Promise.all([0, ...subjects].map(async () => await testRsaKeyPair()))
  const ca: Issued = await issueCertificate({
    subject: subjectName({ O: 'Test push PKI', CN: 'Test push server CA' }),
    keys: caKeys as CryptoKeyPair,
    ...validity,
    ca: {},
    keyUsage: [KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign]
  })
  const caPem = certificatePem(ca.der)
  const certs = await Promise.all(subjects.map(async (subject, i) => {
    const leaf = await issueCertificate({
      subject: subjectName(subject),
      keys: leafKeys[i] as CryptoKeyPair,
      issuer: ca,
      ...validity,
      keyUsage: [KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.1'],
      subjectAltNames: { dns: ['localhost'], ip: ['127.0.0.1'] }
    })
    return {
      cert: Buffer.from(certificatePem(leaf.der) + caPem),
      key: Buffer.from(await privateKeyPem(leaf.keys)),
      fingerprint: fingerprint(leaf.der)
    }
  }))
  return { ca: Buffer.from(caPem), certs }
}
