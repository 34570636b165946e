// Small DER building blocks pkijs does not offer directly.
import { createHash, randomBytes } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
export enum KeyUsageBit {
  digitalSignature = 0,
  nonRepudiation = 1,
  keyEncipherment = 2,
  dataEncipherment = 3,
  keyAgreement = 4,
  keyCertSign = 5,
  cRLSign = 6
}

/** DER KeyUsage BIT STRING (named bit list: trailing zero bits dropped). */
export function keyUsageBitString (bits: readonly KeyUsageBit[]): asn1js.BitString {
  if (bits.length === 0) throw new Error('keyUsage needs at least one bit')
  let byte = 0
  for (const bit of bits) byte |= 0x80 >> bit
  let unusedBits = 0
  while (((byte >> unusedBits) & 1) === 0) unusedBits++
  return new asn1js.BitString({ valueHex: Uint8Array.from([byte]).buffer, unusedBits })
}

export function time (date: Date): pkijs.Time {
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  const type = date.getUTCFullYear() >= 2050 ? pkijs.TimeType.GeneralizedTime : pkijs.TimeType.UTCTime
  return new pkijs.Time({ type, value: date })
}

/** A random positive 128-bit serial number without a leading zero octet. */
export function randomSerial (): asn1js.Integer {
  const bytes = randomBytes(16)
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40
  return new asn1js.Integer({ valueHex: Uint8Array.from(bytes).buffer })
}

/** Key identifier method 1 of RFC 5280: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier (spki: pkijs.PublicKeyInfo): ArrayBuffer {
  const digest = createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest()
  return Uint8Array.from(digest).buffer
}

export function ipAddressOctets (ip: string): ArrayBuffer {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number)).buffer
  if (!isIPv6(ip) || ip.includes('.')) throw new Error(`unsupported IP address ${ip}`)
  const [head = '', tail = ''] = ip.split('::')
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)))
  const h = groups(head)
  const t = ip.includes('::') ? groups(tail) : []
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff])).buffer
}

export type NameAttribute = [oid: string, value: string]

/**
 * An X.501 Name with one attribute per RDN, in the given order. C (2.5.4.6) is a PrintableString,
 * everything else UTF8String. (pkijs would put all attributes into a single multi-valued RDN when
 * encoding a name built from scratch, so the DER is built here and kept as `valueBeforeDecode`.)
 */
export function distinguishedName (attributes: readonly NameAttribute[]): pkijs.RelativeDistinguishedNames {
  const der = new asn1js.Sequence({
    value: attributes.map(([type, value]) => new asn1js.Set({
      value: [new pkijs.AttributeTypeAndValue({
        type,
        value: type === '2.5.4.6' ? new asn1js.PrintableString({ value }) : new asn1js.Utf8String({ value })
      }).toSchema()]
    }))
  }).toBER()
  return pkijs.RelativeDistinguishedNames.fromBER(der)
}
