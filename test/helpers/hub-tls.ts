import { KeyUsageBit } from '../../src/pki/example-pki/asn1.js'
import { subjectName } from '../../src/pki/example-pki/agencies.js'
import { issueCertificate } from '../../src/pki/example-pki/issue.js'
import { certificatePem, fingerprint, privateKeyPem } from '../../src/pki/example-pki/keys.js'
import { testRsaKeyPair } from './test-keys.js'

/** One CA; per hub one certificate serving as its TLS server and client certificate. */
export async function hubTlsPki (count: number): Promise<{ ca: Buffer, certs: Array<{ cert: Buffer, key: Buffer, fingerprint: string }> }> {
  const now = Date.now()
  const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 86_400_000) }
  const caKeys = await testRsaKeyPair()
  const ca = await issueCertificate({ subject: subjectName({ O: 'Test backbone', CN: 'Test hub TLS CA' }), keys: caKeys, ...validity, ca: {}, keyUsage: [KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign] })
  const caPem = certificatePem(ca.der)
  const certs = []
  for (let i = 1; i <= count; i++) {
    const keys = await testRsaKeyPair()
    const leaf = await issueCertificate({
      subject: subjectName({ O: 'Test backbone', CN: `hub-${i}` }),
      keys,
      issuer: ca,
      ...validity,
      keyUsage: [KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
      subjectAltNames: { dns: ['localhost'], ip: ['127.0.0.1'] }
    })
    certs.push({ cert: Buffer.from(certificatePem(leaf.der) + caPem), key: Buffer.from(await privateKeyPem(keys)), fingerprint: fingerprint(leaf.der) })
  }
  return { ca: Buffer.from(caPem), certs }
}
