// The demo agencies of the example PKI and how their certificate subjects look.
import type * as pkijs from 'pkijs'
import { distinguishedName, type NameAttribute } from './asn1.js'

export const OID_UID = '0.9.2342.19200300.100.1.1'

export type DemoDelivery = { mode: 'push', url: string } | { mode: 'pull' }

export interface DemoAgency {
  code: string
  name: string
  province: string
  delivery: DemoDelivery
  allowWeakAlgorithms: boolean
  /** Bind by a subject rule instead of registered fingerprints. */
  bindBySubjectRule: boolean
}

export const DEMO_AGENCIES: readonly DemoAgency[] = [
  {
    code: '000.00.00.G22',
    name: 'Văn phòng Chính phủ',
    province: 'Hà Nội',
    delivery: { mode: 'push', url: 'https://127.0.0.1:9441/edxml' },
    allowWeakAlgorithms: false,
    bindBySubjectRule: false
  },
  {
    code: '000.00.00.G12',
    name: 'Bộ Tài chính',
    province: 'Hà Nội',
    delivery: { mode: 'pull' },
    allowWeakAlgorithms: false,
    bindBySubjectRule: false
  },
  {
    code: '000.00.00.H41',
    name: 'Ủy ban nhân dân tỉnh Nghệ An',
    province: 'Nghệ An',
    delivery: { mode: 'pull' },
    // Real Nghệ An traffic is still RSA-SHA1.
    allowWeakAlgorithms: true,
    bindBySubjectRule: false
  },
  {
    code: '000.00.00.H29',
    name: 'Ủy ban nhân dân thành phố Hồ Chí Minh',
    province: 'Hồ Chí Minh',
    delivery: { mode: 'push', url: 'https://127.0.0.1:9442/edxml' },
    allowWeakAlgorithms: false,
    bindBySubjectRule: true
  }
]

export function demoAgency (code: string): DemoAgency {
  const agency = DEMO_AGENCIES.find((a) => a.code === code)
  if (agency === undefined) throw new Error(`unknown demo agency ${code}`)
  return agency
}

export const HUB_CODE = '000.00.00.HUB'
export const HUB_NAME = 'Hệ thống liên thông văn bản (ví dụ)'

/** `C=VN[, ST][, O], CN[, UID]`: C as PrintableString, everything else UTF8String. */
export function subjectName (attrs: { ST?: string, O?: string, CN: string, UID?: string }): pkijs.RelativeDistinguishedNames {
  const rdns: NameAttribute[] = [['2.5.4.6', 'VN']]
  if (attrs.ST !== undefined) rdns.push(['2.5.4.8', attrs.ST])
  if (attrs.O !== undefined) rdns.push(['2.5.4.10', attrs.O])
  rdns.push(['2.5.4.3', attrs.CN])
  if (attrs.UID !== undefined) rdns.push([OID_UID, attrs.UID])
  return distinguishedName(rdns)
}

/** `C=VN, ST=<province>, O=<name>, CN=<name>, UID=<code>` */
export function agencySubject (agency: DemoAgency): pkijs.RelativeDistinguishedNames {
  return subjectName({ ST: agency.province, O: agency.name, CN: agency.name, UID: agency.code })
}
