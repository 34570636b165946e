// Builds every certificate, key and CRL of the example PKI in memory.
import type * as pkijs from 'pkijs'
import { KeyUsageBit } from './asn1.js'
import { DEMO_AGENCIES, agencySubject, demoAgency, subjectName } from './agencies.js'
import { EXAMPLE_HUBS, issueHubIdentity, type HubIdentity } from './hubs.js'
import { CrlReason, issueCertificate, issueCrl, type CertificateSpec, type Issued } from './issue.js'
import { generateRsaKeyPair } from './keys.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const { digitalSignature, nonRepudiation, keyEncipherment, keyCertSign, cRLSign } = KeyUsageBit

export const CA_KEY_BITS = 3072
export const LEAF_KEY_BITS = 2048
export const WEAK_KEY_BITS = 1024
export const ROOT_CRL_URL = 'http://pki.example.gov.vn/root-ca.crl'
export const ISSUING_CRL_URL = 'http://pki.example.gov.vn/issuing-ca.crl'
export const EXPIRED_VALIDITY = { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') }

function addYears (date: Date, years: number): Date {
  const d = new Date(date)
  d.setUTCFullYear(d.getUTCFullYear() + years)
  return d
}

/** Every date the example PKI uses, derived from `now`. */
export function examplePkiDates (at: Date) {
  // Certificates and CRLs carry whole seconds.
  const now = new Date(Math.floor(at.getTime() / 1000) * 1000)
  const notBefore = new Date(now.getTime() - DAY)
  const crlThisUpdate = new Date(now.getTime() - HOUR)
  return {
    now,
    root: { notBefore, notAfter: addYears(now, 20) },
    issuing: { notBefore, notAfter: addYears(now, 15) },
    leaf: { notBefore, notAfter: addYears(now, 5) },
    crl: { thisUpdate: crlThisUpdate, nextUpdate: addYears(now, 10) },
    staleCrl: { thisUpdate: new Date(now.getTime() - 60 * DAY), nextUpdate: new Date(now.getTime() - 30 * DAY) },
    revocation: new Date(now.getTime() - 2 * HOUR)
  }
}

export interface ExamplePki {
  dates: ReturnType<typeof examplePkiDates>
  root: Issued
  issuing: Issued
  /** CRLs, DER */
  rootCrl: ArrayBuffer
  issuingCrl: ArrayBuffer
  staleIssuingCrl: ArrayBuffer
  agencies: Map<string, Issued>
  /** {@link EXAMPLE_HUBS} in order: the first is hub 1 (`hub/`), whose TLS certificate the demo recipients serve. */
  hubs: HubIdentity[]
  special: {
    revoked: Issued
    expired: Issued
    untrustedRoot: Issued
    untrusted: Issued
    caLeaf: Issued
    noSigningUsage: Issued
    weakKey: Issued
  }
}

/** Hub 1 (`hub/`, id `hub`): the identity every single-hub test and demo uses. */
export function firstHub (pki: ExamplePki): HubIdentity {
  const hub = pki.hubs[0]
  if (hub === undefined) throw new Error('example PKI: no hub identity')
  return hub
}

/** Where the example PKI's key pairs come from: new ones by default; tests pass a pool of pre-made keys. */
export type RsaKeySource = (modulusLength: number) => Promise<CryptoKeyPair>

export async function buildExamplePki (now: Date, newKeys: RsaKeySource = generateRsaKeyPair): Promise<ExamplePki> {
  const dates = examplePkiDates(now)
  // Key generation dominates the run time: start it all at once (it runs on the libuv pool).
  const [rootKeys, issuingKeys, untrustedRootKeys, weakKeys, ...leafKeys] = await Promise.all([
    newKeys(CA_KEY_BITS),
    newKeys(CA_KEY_BITS),
    newKeys(LEAF_KEY_BITS),
    newKeys(WEAK_KEY_BITS),
    // Per agency one key; per hub two (signing, TLS); the special leaves five (weak-key has its own).
    ...Array.from({ length: DEMO_AGENCIES.length + 2 * EXAMPLE_HUBS.length + 5 }, async () => await newKeys(LEAF_KEY_BITS))
  ])
  const nextKeys = (): CryptoKeyPair => {
    const keys = leafKeys.shift()
    if (keys === undefined) throw new Error('example PKI: ran out of pre-generated keys')
    return keys
  }

  const root = await issueCertificate({
    subject: subjectName({ O: 'Example PKI (NOT FOR PRODUCTION)', CN: 'Vietnam Example National Root CA' }),
    keys: rootKeys,
    ...dates.root,
    ca: {},
    keyUsage: [keyCertSign, cRLSign]
  })
  const issuing = await issueCertificate({
    subject: subjectName({ O: 'Example PKI (NOT FOR PRODUCTION)', CN: 'Example Government Issuing CA' }),
    keys: issuingKeys,
    issuer: root,
    ...dates.issuing,
    ca: { pathLength: 0 },
    keyUsage: [keyCertSign, cRLSign],
    crlUrl: ROOT_CRL_URL
  })

  const signingLeaf = async (subject: pkijs.RelativeDistinguishedNames, overrides: Partial<CertificateSpec> = {}): Promise<Issued> =>
    await issueCertificate({
      subject,
      issuer: issuing,
      ...dates.leaf,
      keyUsage: [digitalSignature, nonRepudiation],
      crlUrl: ISSUING_CRL_URL,
      ...overrides,
      keys: overrides.keys ?? nextKeys()
    })

  const agencies = new Map<string, Issued>()
  for (const agency of DEMO_AGENCIES) {
    agencies.set(agency.code, await signingLeaf(agencySubject(agency)))
  }
  const g22 = agencySubject(demoAgency('000.00.00.G22'))

  const hubs: HubIdentity[] = []
  for (const hub of EXAMPLE_HUBS) {
    hubs.push(await issueHubIdentity({ hub, issuing, validity: dates.leaf, crlUrl: ISSUING_CRL_URL, signingKeys: nextKeys(), tlsKeys: nextKeys() }))
  }

  const revoked = await signingLeaf(agencySubject(demoAgency('000.00.00.H41')))
  const expired = await signingLeaf(agencySubject(demoAgency('000.00.00.G12')), EXPIRED_VALIDITY)
  const untrustedRoot = await issueCertificate({
    subject: subjectName({ O: 'Untrusted Example PKI (NOT FOR PRODUCTION)', CN: 'Untrusted Example Root' }),
    keys: untrustedRootKeys,
    ...dates.root,
    ca: {},
    keyUsage: [keyCertSign, cRLSign]
  })
  const untrusted = await signingLeaf(g22, { issuer: untrustedRoot, crlUrl: 'http://pki.untrusted.example/root.crl' })
  const caLeaf = await signingLeaf(g22, { ca: {}, keyUsage: [digitalSignature, keyCertSign] })
  const noSigningUsage = await signingLeaf(g22, { keyUsage: [keyEncipherment] })
  const weakKey = await signingLeaf(g22, { keys: weakKeys })

  const rootCrl = await issueCrl({ issuer: root, ...dates.crl, crlNumber: 1 })
  const issuingCrl = await issueCrl({
    issuer: issuing,
    ...dates.crl,
    crlNumber: 1,
    revoked: [{ cert: revoked.cert, date: dates.revocation, reason: CrlReason.keyCompromise }]
  })
  // An older CRL of the same issuer, issued before the revoked certificate existed: hence no entries
  // and a lower CRL number. Its nextUpdate is in the past, so a verifier must treat it as stale.
  const staleIssuingCrl = await issueCrl({ issuer: issuing, ...dates.staleCrl, crlNumber: 0 })

  return {
    dates,
    root,
    issuing,
    rootCrl,
    issuingCrl,
    staleIssuingCrl,
    agencies,
    hubs,
    special: { revoked, expired, untrustedRoot, untrusted, caLeaf, noSigningUsage, weakKey }
  }
}
