import type { Queryable } from '../db/database.js'
import type { AgencyEntry } from '../registry/registry-format.js'
import { pinOf, type PushPin } from '../registry/push-endpoint.js'

/** Writes the agency's push pin (migration 009_push_endpoint_pins) from its registry entry. */
export async function syncPushPin (db: Queryable, agency: AgencyEntry): Promise<void> {
  const pin = agency.delivery.mode === 'push' ? pinOf(agency.delivery) : undefined
  await db.query('UPDATE agencies SET push_server_certificates = $2::text[], push_server_subject = $3::jsonb WHERE code = $1',
    [agency.code, pin != null && pin.fingerprints.length > 0 ? pin.fingerprints : null, pin?.subject != null ? JSON.stringify(pin.subject) : null])
}

/** The pin as read back from the agencies columns (push_server_certificates, push_server_subject). */
export function pinFromColumns (certificates: unknown, subject: unknown): PushPin | undefined {
  const fingerprints = Array.isArray(certificates) ? certificates.map(String) : []
  const parsed = typeof subject === 'string' ? JSON.parse(subject) as unknown : subject
  const subjectRule = parsed != null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, string> : undefined
  if (fingerprints.length === 0 && subjectRule == null) return undefined
  return { fingerprints, ...(subjectRule != null ? { subject: subjectRule } : {}) }
}
