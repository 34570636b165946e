import type { SignatureLogFilter } from '../../../evidence/signature-log-search.js'
import type { SignatureLogVerdict } from '../../../evidence/signature-log.js'

/** The signature-log page's filters as they stand in its URL (and in its CSV link). */
export interface LogPageFilters { reason?: string, verdict?: SignatureLogVerdict, agency?: string }

const VERDICTS: readonly SignatureLogVerdict[] = ['accepted', 'rejected', 'duplicate']

function pick (value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : undefined
}

/** The page's query as filters; an unknown verdict is no filter (the form offers only the three). */
export function logFilters (query: Record<string, unknown>): LogPageFilters {
  const reason = pick(query.reason, 64)
  const verdict = VERDICTS.find((v) => v === query.verdict)
  const agency = pick(query.agency, 64)
  return { ...(reason != null ? { reason } : {}), ...(verdict != null ? { verdict } : {}), ...(agency != null ? { agency } : {}) }
}

/** The same filters for the auditor API's search and export (src/evidence/signature-log-search.ts). */
export function signatureLogFilterOf (filters: LogPageFilters): SignatureLogFilter {
  return {
    ...(filters.reason != null ? { reasonCode: filters.reason } : {}),
    ...(filters.verdict != null ? { verdict: filters.verdict } : {}),
    ...(filters.agency != null ? { agency: filters.agency } : {})
  }
}
