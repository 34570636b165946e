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

/** A hub's id in the backbone (LIENTHONG_HUB_ID of that hub), or an upstream's id on this hub. */
export const HubIdText = Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{0,62}$' })

/** Where a route leads: `{ "peer": "hub-h98" }` or `{ "upstream": "national-axis" }`. */
export const RouteTo = Type.Union([
  Type.Object({ peer: HubIdText }, { additionalProperties: false }),
  Type.Object({ upstream: HubIdText }, { additionalProperties: false })
])

/**
 * Another lienthong hub (issue 13): where to reach it and the certificates that identify it in
 * each role (all SHA-256 fingerprints): the TLS server certificate pinned when we call it, the
 * TLS client certificate(s) it presents when it calls us, the certificate(s) signing its directory
 * and receipts. `agencies` and `prefixes` are what it serves (explicit entries and prefix rules
 * leading to it); its signed directory can add more.
 */
export const PeerEntry = Type.Object({
  id: HubIdText,
  url: Type.String({ pattern: '^https?://' }),
  serverCertificates: Type.Array(Fingerprint, { minItems: 1 }),
  clientCertificates: Type.Array(Fingerprint, { minItems: 1 }),
  signingCertificates: Type.Array(Fingerprint, { minItems: 1 }),
  agencies: Type.Array(AgencyCode, { default: [] }),
  prefixes: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [] })
}, { additionalProperties: false })

/**
 * An axis speaking the VDXP protocol (the national axis, or another hub's /vdxp). The secret is
 * never written here: `secretFile` names a file holding it, or `secretEnv` an environment
 * variable (exactly one of the two).
 */
export const UpstreamEntry = Type.Object({
  id: HubIdText,
  endpoint: Type.String({ pattern: '^https?://' }),
  systemId: Type.String({ minLength: 1, maxLength: 100 }),
  secretFile: Type.Optional(Type.String({ minLength: 1 })),
  secretEnv: Type.Optional(Type.String({ pattern: '^[A-Z_][A-Z0-9_]*$' }))
}, { additionalProperties: false })

/** Explicit entries (code -> target), prefix rules (src/routing/route-pattern.ts) and the default route. */
export const RoutesSection = Type.Object({
  explicit: Type.Array(Type.Object({ code: AgencyCode, to: RouteTo }, { additionalProperties: false }), { default: [] }),
  prefixes: Type.Array(Type.Object({ prefix: Type.String({ minLength: 1, maxLength: 64 }), to: RouteTo }, { additionalProperties: false }), { default: [] }),
  default: Type.Optional(RouteTo)
}, { additionalProperties: false })

/**
 * An agency served by a peer hub (issue 13), listed here only so that what it signs can be bound
 * to it when a peer forwards it (security.md step 5): the same binding fields as an agency, no
 * delivery. It is never a recipient on this hub (a route leads to it) and never authenticates here.
 */
export const PeerAgencyEntry = Type.Object({
  code: AgencyCode,
  name: Type.String({ minLength: 1 }),
  certificates: Type.Array(Fingerprint, { default: [] }),
  subjectRule: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), { minProperties: 1 })),
  allowWeakAlgorithms: Type.Boolean({ default: false })
}, { additionalProperties: false })

export const RegistryFile = Type.Object({
  version: Type.Literal(1),
  agencies: Type.Array(AgencyEntry),
  /** The backbone (issue 13), all optional: a hub without them serves only its own agencies. */
  peers: Type.Optional(Type.Array(PeerEntry)),
  upstreams: Type.Optional(Type.Array(UpstreamEntry)),
  routes: Type.Optional(RoutesSection),
  /** Sender binding of agencies served by peer hubs (documents they forward). */
  peerAgencies: Type.Optional(Type.Array(PeerAgencyEntry))
}, { additionalProperties: false })

export type AgencyEntry = Static<typeof AgencyEntry>
export type PushDelivery = Static<typeof PushDelivery>
export type RegistryFile = Static<typeof RegistryFile>
export type PeerEntry = Static<typeof PeerEntry>
export type PeerAgencyEntry = Static<typeof PeerAgencyEntry>
export type UpstreamEntry = Static<typeof UpstreamEntry>
export type RouteTo = Static<typeof RouteTo>
export type RoutesSection = Static<typeof RoutesSection>
