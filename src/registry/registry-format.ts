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

export const Delivery = Type.Union([
  Type.Object({ mode: Type.Literal('push'), url: Type.String({ pattern: '^https?://' }) }, { additionalProperties: false }),
  Type.Object({ mode: Type.Literal('pull') }, { additionalProperties: false })
])

export const AgencyEntry = Type.Object({
  code: AgencyCode,
  name: Type.String({ minLength: 1 }),
  certificates: Type.Array(Fingerprint, { default: [] }),
  subjectRule: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), { minProperties: 1 })),
  allowWeakAlgorithms: Type.Boolean({ default: false }),
  delivery: Delivery
}, { additionalProperties: false })

export const RegistryFile = Type.Object({
  version: Type.Literal(1),
  agencies: Type.Array(AgencyEntry)
}, { additionalProperties: false })

export type AgencyEntry = Static<typeof AgencyEntry>
export type RegistryFile = Static<typeof RegistryFile>
