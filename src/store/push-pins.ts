import type { PushPin } from '../registry/push-endpoint.js'

/** The pin as read back from the agencies columns (push_server_certificates, push_server_subject). */
export function pinFromColumns (certificates: unknown, subject: unknown): PushPin | undefined {
  const fingerprints = Array.isArray(certificates) ? certificates.map(String) : []
  const parsed = typeof subject === 'string' ? JSON.parse(subject) as unknown : subject
  const subjectRule = parsed != null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, string> : undefined
  if (fingerprints.length === 0 && subjectRule == null) return undefined
  return { fingerprints, ...(subjectRule != null ? { subject: subjectRule } : {}) }
}
