import { Type, type Static } from '@sinclair/typebox'

// Year 0000 passes the date-time format but not PostgreSQL (there is no year 0): the query
// failed with 500 INTERNAL (attack-admin finding X2). Ids stay within what a JS number holds exactly
// (a larger one overflowed bigint, the same 500).
export const NOT_YEAR_ZERO = '^(?!0000)'
const Iso = (description: string): ReturnType<typeof Type.String> => Type.String({ format: 'date-time', pattern: NOT_YEAR_ZERO, description })
const EntryId = (description: string): ReturnType<typeof Type.Integer> => Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description })
const Hex = (description: string): ReturnType<typeof Type.String> => Type.String({ minLength: 1, maxLength: 200, pattern: '^[0-9A-Fa-f:]+$', description })

/** Filters shared by the search and the export (docs/tracking.md, "Signature log"). */
const FilterMembers = {
  from: Type.Optional(Iso('entries logged at or after this time')),
  to: Type.Optional(Iso('entries logged before this time (exclusive)')),
  agency: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the claimed sender or the authenticated submitter' })),
  verdict: Type.Optional(Type.Union([Type.Literal('accepted'), Type.Literal('rejected'), Type.Literal('duplicate')])),
  reasonCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Z0-9_]+$', description: 'e.g. CERT_REVOKED' })),
  certFingerprint: Type.Optional(Hex('SHA-256 of the signer certificate (hex; colons and case ignored)')),
  certSerial: Type.Optional(Hex('serial number of the signer certificate (hex)')),
  certIssuer: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'part of the issuer name, case-insensitive' })),
  documentId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the hub document uuid or the edXML document id' })),
  weak: Type.Optional(Type.Boolean({ description: 'true: only entries flagged weak (allowed SHA-1); false: only the others' }))
}

export const SignatureLogQuery = Type.Object({
  ...FilterMembers,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  after: Type.Optional(Type.String({ maxLength: 200, description: 'the `next` cursor of the previous page' }))
}, { additionalProperties: false })
export type SignatureLogQuery = Static<typeof SignatureLogQuery>

export const SignatureLogExportQuery = Type.Object({
  ...FilterMembers,
  format: Type.Union([Type.Literal('csv'), Type.Literal('ndjson')], { description: 'csv (RFC 4180, spreadsheet-safe) or ndjson (one entry object per line, exact values)' })
}, { additionalProperties: false })
export type SignatureLogExportQuery = Static<typeof SignatureLogExportQuery>

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

export const SignatureLogEntry = Type.Object({
  id: Type.Integer(),
  loggedAt: Type.String(),
  requestId: Type.Optional(Type.String()),
  claimedAgency: Type.Optional(Type.String()),
  authenticatedAgency: Type.Optional(Type.String()),
  edxmlDocumentId: Type.Optional(Type.String()),
  hubDocumentId: Type.Optional(Type.String()),
  digestSha256: Type.String(),
  sizeBytes: Type.Integer(),
  algorithms: Type.Optional(Type.Unknown()),
  signer: Type.Optional(Type.Object({
    subject: Type.String(), issuer: Type.String(), serialNumber: Type.String(), fingerprintSha256: Type.String(), notBefore: Type.String(), notAfter: Type.String()
  })),
  chain: Type.Optional(Type.Unknown()),
  revocation: Type.Optional(Type.Unknown()),
  verdict: Type.String(),
  reasonCode: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String()),
  flags: Type.Array(Type.String()),
  prevHash: Type.String(),
  entryHash: Type.String()
})

export const SignatureLogPage = Type.Object({
  entries: Type.Array(SignatureLogEntry),
  next: Nullable(Type.String({ description: 'pass as `after` for the next (older) page; null on the last page' }))
})

export const EntryIdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'the entry id' }) })

export const EntryWithNeighbours = Type.Object({
  entry: SignatureLogEntry,
  previous: Type.Union([SignatureLogEntry, Type.Null()], { description: 'the entry before it in the chain (its entryHash must be entry.prevHash)' }),
  next: Type.Union([SignatureLogEntry, Type.Null()], { description: 'the entry after it (its prevHash must be entry.entryHash)' }),
  links: Type.Object({
    hashValid: Type.Boolean({ description: 'the entry still hashes to its entryHash' }),
    previousLinks: Type.Union([Type.Boolean(), Type.Null()], { description: 'previous.entryHash is entry.prevHash (null: the first entry, which links to genesis)' }),
    nextLinks: Type.Union([Type.Boolean(), Type.Null()], { description: 'next.prevHash is entry.entryHash (null: the head)' })
  })
})

export const IntegrityQuery = Type.Object({
  fromId: Type.Optional(EntryId('first entry id to verify (default: the first)')),
  toId: Type.Optional(EntryId('last entry id to verify (default: the head)'))
}, { additionalProperties: false })

export const IntegrityAnswer = Type.Object({
  ok: Type.Boolean(),
  headId: Type.Union([Type.Integer(), Type.Null()]),
  range: Type.Object({
    ok: Type.Boolean(),
    checked: Type.Integer(),
    firstId: Type.Union([Type.Integer(), Type.Null()]),
    lastId: Type.Union([Type.Integer(), Type.Null()]),
    anchor: Type.String({ description: 'the entry_hash the first checked entry links to (genesis, or the stored hash of the entry before the range)' }),
    broken: Type.Union([Type.Object({
      id: Type.Integer({ description: 'the first broken entry' }),
      reason: Type.Union([Type.Literal('hash-mismatch'), Type.Literal('link-broken')]),
      expected: Type.String(),
      found: Type.String()
    }), Type.Null()])
  }),
  checkpoint: Type.Union([Type.Object({
    id: Type.Integer(),
    headId: Type.Union([Type.Integer(), Type.Null()]),
    entries: Type.Integer(),
    issuedAt: Type.String(),
    signatureValid: Type.Boolean(),
    consistent: Type.Union([Type.Boolean(), Type.Null()]),
    detail: Type.String()
  }), Type.Null()]),
  elapsedMs: Type.Integer()
})

export const CheckpointListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  before: Type.Optional(EntryId('the `next` of the previous page'))
}, { additionalProperties: false })

export const CheckpointList = Type.Object({
  checkpoints: Type.Array(Type.Object({
    id: Type.Integer(),
    issuedAt: Type.String(),
    headId: Type.Union([Type.Integer(), Type.Null()]),
    headHash: Type.String(),
    entries: Type.Integer(),
    hubFingerprint: Type.String()
  })),
  next: Type.Union([Type.Integer(), Type.Null()])
})

export const CheckpointIdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,17}$' }) })
