import { Type } from '@sinclair/typebox'
import { AgencyCode, Delivery } from '../../registry/registry-format.js'

/**
 * Admin API schemas for the registry held in the database (routes/api/admin-agencies.ts and
 * admin-trust.ts). Delivery and codes are the registry file's own schemas: an agency created
 * here is exactly what `lienthong registry export` writes back.
 */
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])
const SubjectRule = Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
  minProperties: 1,
  description: 'subject attributes (CN, O, OU, UID, serialNumber ... or a dotted OID) a signing certificate must carry to sign for the agency'
})
const Pem = Type.String({ minLength: 1, maxLength: 64 * 1024, description: 'one certificate, PEM (-----BEGIN CERTIFICATE-----)' })

export const CodeParams = Type.Object({ code: AgencyCode })
export const CodeFingerprintParams = Type.Object({
  code: AgencyCode,
  fingerprint: Type.String({ pattern: '^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$', description: 'SHA-256 of the certificate, hex, with or without colons' })
})

export const SigningCertificateBody = Type.Object({
  pem: Pem,
  label: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false })

export const NewAgencyBody = Type.Object({
  code: AgencyCode,
  name: Type.String({ minLength: 1, maxLength: 300 }),
  delivery: Delivery,
  subjectRule: Type.Optional(SubjectRule),
  allowWeakAlgorithms: Type.Optional(Type.Boolean({ description: 'accept RSA-SHA1/SHA-1 signatures of this agency (flagged weak in the signature log)' })),
  allowUnsignedEnvelopes: Type.Optional(Type.Boolean({ description: 'VDXP sendEdoc only: accept its documents without XML-DSig (flagged unsigned-envelope)' })),
  signingCertificates: Type.Optional(Type.Array(SigningCertificateBody, { maxItems: 20 }))
}, { additionalProperties: false })

export const AgencyPatchBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
  delivery: Type.Optional(Delivery),
  subjectRule: Type.Optional(Type.Union([SubjectRule, Type.Null()], { description: 'null removes the rule' })),
  allowWeakAlgorithms: Type.Optional(Type.Boolean()),
  allowUnsignedEnvelopes: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })

export const SigningCertificateAnswer = Type.Object({
  fingerprint: Type.String({ description: 'SHA-256, lower-case hex' }),
  subject: Nullable(Type.String()),
  notAfter: Nullable(Type.String()),
  label: Type.String(),
  addedAt: Type.String(),
  revokedAt: Nullable(Type.String())
})

const Credential = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  label: Type.String(),
  keyPrefix: Nullable(Type.String()),
  certFingerprint: Nullable(Type.String()),
  createdAt: Type.String(),
  revokedAt: Nullable(Type.String())
})

export const AgencyAnswer = Type.Object({
  code: Type.String(),
  name: Type.String(),
  deliveryMode: Type.String(),
  pushUrl: Nullable(Type.String()),
  allowWeakAlgorithms: Type.Boolean(),
  allowUnsignedEnvelopes: Type.Boolean(),
  delivery: Type.Unknown({ description: 'as in the registry file: { mode: "pull" } or { mode: "push", url, serverCertificates?, serverSubject? }' }),
  subjectRule: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
  managedBy: Type.Union([Type.Literal('file'), Type.Literal('admin')], { description: 'file: the registry file rewrites it at every start; admin: its row rules (docs/agency-registry.md)' }),
  signingCertificates: Type.Array(SigningCertificateAnswer),
  credentials: Type.Array(Credential)
})
export const AgencyList = Type.Object({ agencies: Type.Array(AgencyAnswer) })

export const AddedSigningCertificate = Type.Object({
  agencyCode: Type.String(),
  fingerprint: Type.String(),
  subject: Type.String(),
  notAfter: Type.String()
})
export const RevokedSigningCertificate = Type.Object({ agencyCode: Type.String(), fingerprint: Type.String() })

export const TrustCaBody = Type.Object({ pem: Pem }, { additionalProperties: false })
export const AddedTrustCa = Type.Object({
  fingerprintSha256: Type.String(),
  kind: Type.Union([Type.Literal('anchor'), Type.Literal('intermediate')]),
  subject: Type.String(),
  notAfter: Type.String(),
  issuer: Nullable(Type.String())
})
