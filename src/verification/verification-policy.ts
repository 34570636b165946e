import type { AgencyRegistry } from '../registry/agency-registry.js'
import type { TrustStore } from '../pki/trust-store.js'
import { DEFAULT_PARSE_LIMITS } from '../xmldsig/parse.js'

export interface VerificationPolicy {
  trustStore: TrustStore
  registry: AgencyRegistry
  /** Size cap in bytes, checked before anything else is done with the input. */
  maxBytes: number
  maxDepth: number
  /** Fail closed when revocation data is missing or stale. Off only by an operator's explicit choice. */
  requireRevocation: boolean
  /** Verification time (tests and re-verification of old evidence set it). */
  now?: () => Date
}

export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024

export function defaultPolicy (trustStore: TrustStore, registry: AgencyRegistry): VerificationPolicy {
  return { trustStore, registry, maxBytes: DEFAULT_MAX_BYTES, maxDepth: DEFAULT_PARSE_LIMITS.maxDepth, requireRevocation: true }
}
