import { Type, type Static } from '@sinclair/typebox'

/** RFC 9457 problem details, with the stable machine-readable `code`. */
export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String({ description: 'stable machine-readable code, e.g. CERT_REVOKED' }),
  detail: Type.String(),
  instance: Type.Optional(Type.String()),
  signatureLogEntry: Type.Optional(Type.Integer({ description: 'id of the signature-log entry recording this attempt' })),
  requestId: Type.Optional(Type.String()),
  recipients: Type.Optional(Type.Array(Type.Object({ code: Type.String(), error: Type.Optional(Type.String()) }, { additionalProperties: true })))
}, { additionalProperties: true, $id: 'Problem' })

export type Problem = Static<typeof Problem>

/**
 * The error responses every authenticated route can give. 503 is UNAVAILABLE (the database or,
 * where the route needs it, Redis is unreachable; with Retry-After), and on POST /v1/documents
 * also BUSY and IN_FLIGHT_LIMIT: every 503 is transient, retry after Retry-After seconds.
 */
export const commonErrors = {
  400: Type.Ref('Problem'),
  401: Type.Ref('Problem'),
  403: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
  429: Type.Ref('Problem'),
  500: Type.Ref('Problem'),
  503: Type.Ref('Problem', { description: 'Transient: UNAVAILABLE (database or queue unreachable), BUSY or IN_FLIGHT_LIMIT. Retry after the Retry-After header (seconds).' })
}
