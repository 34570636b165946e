import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { KeyUsageBit } from '../../src/pki/example-pki/asn1.js'
import { subjectName } from '../../src/pki/example-pki/agencies.js'
import { issueCertificate, issueCrl, type Issued } from '../../src/pki/example-pki/issue.js'
import { certificatePem, crlPem, fingerprint, privateKeyPem } from '../../src/pki/example-pki/keys.js'
import { loadHubIdentity, type HubIdentity } from '../../src/evidence/hub-identity.js'
import { testRsaKeyPair } from './test-keys.js'

/** A hub of the test backbone: its signing identity and its TLS server certificate (127.0.0.1). */
export interface TestHubKeys {
  signing: HubIdentity
  tls: { cert: Buffer, key: Buffer, fingerprint: string }
}

export interface BackbonePki {
  /** Trust directory shared by every hub: root, issuing CA, fresh CRLs. */
  trustDir: string
  /** The issuing CA (PEM): what peers' TLS servers chain to. */
  caPem: Buffer
  hubs: Record<string, TestHubKeys>
  /** A signing identity of the issuing CA that is no hub's (trusted, never pinned). */
  rogue: HubIdentity
  /** A signing identity under a root nobody trusts. */
  untrusted: HubIdentity
}

const { digitalSignature, nonRepudiation, keyEncipherment, keyCertSign, cRLSign } = KeyUsageBit

/**
 * A small shared PKI for backbone tests (2048-bit keys of the test pool, test/helpers/test-keys.ts): one root and
 * issuing CA with fresh CRLs in `dir/trust`, and per hub id a signing identity (UID = hub id)
 * and a TLS server certificate, all written under `dir`.
 */
export async function backbonePki (dir: string, hubIds: readonly string[]): Promise<BackbonePki> {
  const now = Date.now()
  const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 30 * 86_400_000) }
  const keys = await Promise.all(Array.from({ length: 5 + 2 * hubIds.length }, async () => await testRsaKeyPair()))
  const next = (): CryptoKeyPair => keys.pop() as CryptoKeyPair
  const root = await issueCertificate({ subject: subjectName({ O: 'Backbone test PKI', CN: 'Backbone test root' }), keys: next(), ...validity, ca: {}, keyUsage: [keyCertSign, cRLSign] })
  const issuing = await issueCertificate({ subject: subjectName({ O: 'Backbone test PKI', CN: 'Backbone test issuing CA' }), keys: next(), issuer: root, ...validity, ca: { pathLength: 0 }, keyUsage: [keyCertSign, cRLSign] })
  const otherRoot = await issueCertificate({ subject: subjectName({ O: 'Nobody trusts this', CN: 'Untrusted root' }), keys: next(), ...validity, ca: {}, keyUsage: [keyCertSign, cRLSign] })
  const trustDir = join(dir, 'trust')
  await mkdir(trustDir, { recursive: true })
  const crlDates = { thisUpdate: new Date(now - 3_600_000), nextUpdate: new Date(now + 30 * 86_400_000), crlNumber: 1 }
  await writeFile(join(trustDir, 'root.pem'), certificatePem(root.der))
  await writeFile(join(trustDir, 'issuing.pem'), certificatePem(issuing.der))
  await writeFile(join(trustDir, 'root.crl.pem'), crlPem(await issueCrl({ issuer: root, ...crlDates })))
  await writeFile(join(trustDir, 'issuing.crl.pem'), crlPem(await issueCrl({ issuer: issuing, ...crlDates })))

  const signing = async (name: string, issuer: Issued): Promise<HubIdentity> => {
    const leaf = await issueCertificate({ subject: subjectName({ O: 'Backbone test hub', CN: name, UID: name }), keys: next(), issuer, ...validity, keyUsage: [digitalSignature, nonRepudiation] })
    const base = join(dir, `${name}-signing`)
    await writeFile(`${base}-key.pem`, await privateKeyPem(leaf.keys))
    await writeFile(`${base}-cert.pem`, certificatePem(leaf.der) + certificatePem(issuer.der))
    return await loadHubIdentity({ keyFile: `${base}-key.pem`, certFile: `${base}-cert.pem` })
  }
  const hubs: Record<string, TestHubKeys> = {}
  for (const id of hubIds) {
    const tls = await issueCertificate({
      subject: subjectName({ O: 'Backbone test hub', CN: `${id} TLS` }),
      keys: next(),
      issuer: issuing,
      ...validity,
      keyUsage: [digitalSignature, keyEncipherment],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
      subjectAltNames: { dns: ['localhost'], ip: ['127.0.0.1'] }
    })
    hubs[id] = {
      signing: await signing(id, issuing),
      tls: { cert: Buffer.from(certificatePem(tls.der) + certificatePem(issuing.der)), key: Buffer.from(await privateKeyPem(tls.keys)), fingerprint: fingerprint(tls.der) }
    }
  }
  return { trustDir, caPem: Buffer.from(certificatePem(issuing.der) + certificatePem(root.der)), hubs, rogue: await signing('rogue', issuing), untrusted: await signing('untrusted', otherRoot) }
}
