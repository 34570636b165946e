// The example hubs: one identity (signing + TLS certificate) per lienthong hub, so tests can run a
// backbone of several hubs that each sign with their own key and are pinned by their own certificate.
import { KeyUsageBit } from './asn1.js'
import { HUB_CODE, HUB_NAME, subjectName } from './agencies.js'
import { issueCertificate, type Issued } from './issue.js'

const { digitalSignature, nonRepudiation, keyEncipherment } = KeyUsageBit
export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

export interface ExampleHub {
  /** The hub's id in the backbone (LIENTHONG_HUB_ID). */
  id: string
  /** Directory of its key and certificate files, relative to the PKI root. */
  dir: string
  /** Subject UID of its signing certificate. */
  uid: string
  name: string
}

/** Directory that holds every hub identity after the first (`hub/`, kept where it always was). */
export const HUBS_DIR = 'hubs'

/** Hub ids as LIENTHONG_HUB_ID accepts them. */
export const HUB_ID_PATTERN = /^[a-z0-9][a-z0-9.-]{0,62}$/

/**
 * `hub-2` -> `000.00.00.HUB2`: the agency-code shape, so UID pins and subject rules treat hubs like
 * agencies. Hub 1 keeps `000.00.00.HUB` (id `hub`), which receipts and docs already name.
 */
export function hubUid (id: string): string {
  return `000.00.00.${id.toUpperCase().replace(/[^A-Z0-9]/g, '')}`
}

export function exampleHub (id: string): ExampleHub {
  if (!HUB_ID_PATTERN.test(id)) throw new Error(`bad hub id ${JSON.stringify(id)}: lower-case letters, digits, dots and dashes, at most 63`)
  if (id === 'hub') return { id, dir: 'hub', uid: HUB_CODE, name: HUB_NAME }
  return { id, dir: `${HUBS_DIR}/${id}`, uid: hubUid(id), name: `${HUB_NAME} ${id}` }
}

/** The hubs `pki init` writes: hub 1 in `hub/`, hubs 2 and 3 under `hubs/`. */
export const EXAMPLE_HUBS: readonly ExampleHub[] = ['hub', 'hub-2', 'hub-3'].map(exampleHub)

export interface HubIdentity {
  hub: ExampleHub
  signing: Issued
  tls: Issued
}

export interface HubIssueSpec {
  hub: ExampleHub
  issuing: Issued
  validity: { notBefore: Date, notAfter: Date }
  crlUrl: string
  signingKeys: CryptoKeyPair
  tlsKeys: CryptoKeyPair
}

/**
 * A hub's document/receipt signing certificate (digitalSignature+nonRepudiation, UID=<uid>) and its
 * TLS certificate (serverAuth+clientAuth, SAN localhost, 127.0.0.1, ::1: every example hub runs on
 * this machine, told apart by port).
 */
export async function issueHubIdentity (spec: HubIssueSpec): Promise<HubIdentity> {
  const common = { issuer: spec.issuing, ...spec.validity, crlUrl: spec.crlUrl }
  const signing = await issueCertificate({
    ...common,
    subject: subjectName({ O: spec.hub.name, CN: spec.hub.name, UID: spec.hub.uid }),
    keys: spec.signingKeys,
    keyUsage: [digitalSignature, nonRepudiation]
  })
  const tls = await issueCertificate({
    ...common,
    subject: subjectName({ O: spec.hub.name, CN: 'localhost' }),
    keys: spec.tlsKeys,
    keyUsage: [digitalSignature, keyEncipherment],
    extendedKeyUsage: [SERVER_AUTH, CLIENT_AUTH],
    subjectAltNames: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] }
  })
  return { hub: spec.hub, signing, tls }
}
