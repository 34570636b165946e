// Building certificates and CRLs with pkijs (RSA, sha256WithRSAEncryption).
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { ipAddressOctets, keyIdentifier, keyUsageBitString, randomSerial, time, type KeyUsageBit } from './asn1.js'
import { engine, publicKeyInfo } from './keys.js'

/** A certificate (parsed and DER) together with its key pair. */
export interface Issued {
  cert: pkijs.Certificate
  der: ArrayBuffer
  keys: CryptoKeyPair
}

export interface CertificateSpec {
  subject: pkijs.RelativeDistinguishedNames
  keys: CryptoKeyPair
  /** The issuing CA; omitted for a self-signed certificate. */
  issuer?: Issued
  notBefore: Date
  notAfter: Date
  /** Present for a CA certificate (basicConstraints cA=true); `pathLength` is optional. */
  ca?: { pathLength?: number }
  keyUsage: KeyUsageBit[]
  extendedKeyUsage?: string[]
  subjectAltNames?: { dns?: string[], ip?: string[] }
  /** CRL distribution point URL. */
  crlUrl?: string
}

const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  crlReason: '2.5.29.21',
  crlDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37'
}

function extension (extnID: string, critical: boolean, value: { toBER: () => ArrayBuffer }): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER() })
}

function authorityKeyId (keyId: ArrayBuffer): pkijs.Extension {
  const aki = new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: keyId }) })
  return extension(OID.authorityKeyIdentifier, false, aki.toSchema())
}

function subjectKeyId (cert: pkijs.Certificate): ArrayBuffer {
  const ext = cert.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier)
  if (ext === undefined) throw new Error('issuer certificate has no subjectKeyIdentifier')
  const parsed = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView)
  if (!(parsed.result instanceof asn1js.OctetString)) throw new Error('bad subjectKeyIdentifier')
  return parsed.result.valueBlock.valueHexView.slice().buffer
}

export async function issueCertificate (spec: CertificateSpec): Promise<Issued> {
  const spki = await publicKeyInfo(spec.keys)
  const keyId = keyIdentifier(spki)
  const basicConstraints = spec.ca === undefined
    ? new pkijs.BasicConstraints({ cA: false })
    : new pkijs.BasicConstraints(spec.ca.pathLength === undefined ? { cA: true } : { cA: true, pathLenConstraint: spec.ca.pathLength })
  const extensions = [
    extension(OID.basicConstraints, true, basicConstraints.toSchema()),
    extension(OID.keyUsage, true, keyUsageBitString(spec.keyUsage)),
    extension(OID.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: keyId })),
    authorityKeyId(spec.issuer === undefined ? keyId : subjectKeyId(spec.issuer.cert))
  ]
  if (spec.extendedKeyUsage !== undefined) {
    extensions.push(extension(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: spec.extendedKeyUsage }).toSchema()))
  }
  if (spec.subjectAltNames !== undefined) {
    const altNames = [
      ...(spec.subjectAltNames.dns ?? []).map((value) => new pkijs.GeneralName({ type: 2, value })),
      ...(spec.subjectAltNames.ip ?? []).map((ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipAddressOctets(ip) }) }))
    ]
    extensions.push(extension(OID.subjectAltName, false, new pkijs.AltName({ altNames }).toSchema()))
  }
  if (spec.crlUrl !== undefined) {
    const point = new pkijs.DistributionPoint({ distributionPoint: [new pkijs.GeneralName({ type: 6, value: spec.crlUrl })] })
    extensions.push(extension(OID.crlDistributionPoints, false, new pkijs.CRLDistributionPoints({ distributionPoints: [point] }).toSchema()))
  }

  const cert = new pkijs.Certificate({
    version: 2,
    serialNumber: randomSerial(),
    // The issuer's subject object keeps its original DER, so name chaining is byte-exact.
    issuer: spec.issuer?.cert.subject ?? spec.subject,
    subject: spec.subject,
    notBefore: time(spec.notBefore),
    notAfter: time(spec.notAfter),
    subjectPublicKeyInfo: spki,
    extensions
  })
  await cert.sign((spec.issuer?.keys ?? spec.keys).privateKey, 'SHA-256', engine)
  const der = cert.toSchema().toBER()
  return { cert: pkijs.Certificate.fromBER(der), der, keys: spec.keys }
}

export interface CrlSpec {
  issuer: Issued
  thisUpdate: Date
  nextUpdate: Date
  crlNumber: number
  revoked?: Array<{ cert: pkijs.Certificate, date: Date, reason: CrlReason }>
}

/** CRLReason codes used here (RFC 5280 5.3.1). */
export enum CrlReason {
  keyCompromise = 1
}

export async function issueCrl (spec: CrlSpec): Promise<ArrayBuffer> {
  const revoked = (spec.revoked ?? []).map((r) => new pkijs.RevokedCertificate({
    userCertificate: r.cert.serialNumber,
    revocationDate: time(r.date),
    crlEntryExtensions: new pkijs.Extensions({
      extensions: [extension(OID.crlReason, false, new asn1js.Enumerated({ value: r.reason }))]
    })
  }))
  const crl = new pkijs.CertificateRevocationList({
    version: 1,
    issuer: spec.issuer.cert.subject,
    thisUpdate: time(spec.thisUpdate),
    nextUpdate: time(spec.nextUpdate),
    ...(revoked.length > 0 ? { revokedCertificates: revoked } : {}),
    crlExtensions: new pkijs.Extensions({
      extensions: [
        extension(OID.crlNumber, false, new asn1js.Integer({ value: spec.crlNumber })),
        authorityKeyId(subjectKeyId(spec.issuer.cert))
      ]
    })
  })
  await crl.sign(spec.issuer.keys.privateKey, 'SHA-256', engine)
  return crl.toSchema().toBER()
}
