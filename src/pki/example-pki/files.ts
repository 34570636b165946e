// Maps the in-memory example PKI onto its on-disk layout (relative path -> PEM / JSON / Markdown).
import { DEMO_AGENCIES } from './agencies.js'
import { firstHub, type ExamplePki } from './build.js'
import type { Issued } from './issue.js'
import { certificatePem, crlPem, fingerprint, privateKeyPem } from './keys.js'
import { HUB_FILES, ISSUING_CA_KEY_PATH, ROOT_CA_KEY_PATH } from './layout.js'
import { examplePkiReadme } from './readme.js'
import { buildRegistry } from './registry.js'

export const REGISTRY_PATH = 'registry.json'
export const TRUST_DIR = 'trust'
export const STALE_TRUST_DIR = 'special/stale-trust'

export interface ExamplePkiFile {
  path: string
  content: string
  /** Private keys are written owner-only. */
  secret: boolean
}

/** Registered certificates per agency: its own plus the special ones that must fail certificate checks. */
export function registeredFingerprints (pki: ExamplePki): Map<string, string[]> {
  const { special } = pki
  const extra: Record<string, Issued[]> = {
    '000.00.00.G22': [special.caLeaf, special.noSigningUsage, special.weakKey],
    '000.00.00.G12': [special.expired],
    '000.00.00.H41': [special.revoked]
  }
  const result = new Map<string, string[]>()
  for (const agency of DEMO_AGENCIES) {
    const own = pki.agencies.get(agency.code)
    // Subject-rule agencies register no fingerprint, so binding goes by the rule.
    const certs = agency.bindBySubjectRule || own === undefined ? [] : [own, ...(extra[agency.code] ?? [])]
    result.set(agency.code, certs.map((c) => fingerprint(c.der)))
  }
  return result
}

export async function examplePkiFiles (pki: ExamplePki): Promise<ExamplePkiFile[]> {
  const files: ExamplePkiFile[] = []
  const text = (path: string, content: string): void => { files.push({ path, content, secret: false }) }
  const pair = async (dir: string, issued: Issued, keyName = 'key.pem', certName = 'cert.pem'): Promise<void> => {
    files.push({ path: `${dir}/${keyName}`, content: await privateKeyPem(issued.keys), secret: true })
    text(`${dir}/${certName}`, certificatePem(issued.der))
  }
  const trust = (dir: string, issuingCrl: string): void => {
    text(`${dir}/root-ca.pem`, certificatePem(pki.root.der))
    text(`${dir}/issuing-ca.pem`, certificatePem(pki.issuing.der))
    text(`${dir}/root-ca.crl.pem`, crlPem(pki.rootCrl))
    text(`${dir}/issuing-ca.crl.pem`, issuingCrl)
  }

  trust(TRUST_DIR, crlPem(pki.issuingCrl))
  for (const [code, issued] of pki.agencies) {
    await pair(`agencies/${code}`, issued)
    text(`agencies/${code}/chain.pem`, certificatePem(pki.issuing.der))
  }
  for (const { hub, signing, tls } of pki.hubs) {
    await pair(hub.dir, signing, HUB_FILES.signingKey, HUB_FILES.signingCert)
    await pair(hub.dir, tls, HUB_FILES.tlsKey, HUB_FILES.tlsCert)
  }
  files.push({ path: ROOT_CA_KEY_PATH, content: await privateKeyPem(pki.root.keys), secret: true })
  files.push({ path: ISSUING_CA_KEY_PATH, content: await privateKeyPem(pki.issuing.keys), secret: true })

  const { special } = pki
  await pair('special/revoked', special.revoked)
  await pair('special/expired', special.expired)
  text('special/untrusted/root-ca.pem', certificatePem(special.untrustedRoot.der))
  await pair('special/untrusted', special.untrusted)
  await pair('special/ca-leaf', special.caLeaf)
  await pair('special/no-signing-usage', special.noSigningUsage)
  await pair('special/weak-key', special.weakKey)
  trust(STALE_TRUST_DIR, crlPem(pki.staleIssuingCrl))

  const registry = buildRegistry(DEMO_AGENCIES, registeredFingerprints(pki), fingerprint(firstHub(pki).tls.der))
  text(REGISTRY_PATH, JSON.stringify(registry, null, 2) + '\n')
  text('README.md', examplePkiReadme(pki))
  return files
}
