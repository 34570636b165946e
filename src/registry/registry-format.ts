import { Type, type Static } from '@sinclair/typebox'

/**
 * The agency registry file (JSON). Documented in docs/agency-registry.md; the demo one is
 * certs-example/registry.json. An agency's signing certificates are bound to it either by
 * SHA-256 fingerprint (exact certificates) or by a subject rule (any certificate, issued under a
 * trusted anchor, whose subject carries all the given attribute values), or both.
 */
export const AgencyCode = Type.String({
  minLength: 1,
  maxLength: 64,
  // Opaque identifier: up to a few dot-separated groups (000.00.00.H41, G12, tax ids ...).
  pattern: '^[A-Za-z0-9]+(\\.[A-Za-z0-9]+){0,4}$'
})

export const Fingerprint = Type.String({
  // SHA-256, hex, with or without colons; normalised to lower-case without colons on load.
  pattern: '^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$'
})

/**
 * A push endpoint is bound to its agency by the TLS server certificate it must present (checked on
 * every connection, beside the CA and host name checks): registered SHA-256 fingerprints of that
 * certificate (several while a certificate is renewed), and/or subject attributes it must carry
 * (same attribute names as `subjectRule`). Plain http:// and unpinned endpoints are refused at load
 * unless a development setting says otherwise (src/registry/push-endpoint.ts).
 */
export const PushDelivery = Type.Object({
  mode: Type.Literal('push'),
  url: Type.String({ pattern: '^https?://' }),
  serverCertificates: Type.Optional(Type.Array(Fingerprint, { minItems: 1 })),
  serverSubject: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), { minProperties: 1 }))
}, { additionalProperties: false })

export const Delivery = Type.Union([
  PushDelivery,
  Type.Object({ mode: Type.Literal('pull') }, { additionalProperties: false })
])

export const AgencyEntry = Type.Object({
  code: AgencyCode,
  name: Type.String({ minLength: 1 }),
  certificates: Type.Array(Fingerprint, { default: [] }),
  subjectRule: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), { minProperties: 1 })),
  allowWeakAlgorithms: Type.Boolean({ default: false }),
  /**
   * Documents from this agency sent through the VDXP API (sendEdoc) may come without an XML-DSig
   * signature (real traffic whose attachments carry PDF signatures); accepted ones are flagged
   * `unsigned-envelope` in the signature log. Absent: false. Never applies to /v1.
   */
  allowUnsignedEnvelopes: Type.Optional(Type.Boolean()),
  delivery: Delivery
}, { additionalProperties: false })

export const RegistryFile = Type.Object({
  version: Type.Literal(1),
  agencies: Type.Array(AgencyEntry)
}, { additionalProperties: false })

export type AgencyEntry = Static<typeof AgencyEntry>
export type PushDelivery = Static<typeof PushDelivery>
export type RegistryFile = Static<typeof RegistryFile>
