import type { Database } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import type { HubMetrics } from '../metrics/hub-metrics.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'
import type { Verdict } from '../verification/verdict.js'

/** What the gateway's routes need, built by the start/serve commands (or by tests). */
export interface HubContext {
  db: Database
  verify: (bytes: Buffer) => Promise<Verdict>
  queue: DeliveryQueue | undefined
  hub: HubIdentity
  maxBytes: number
  rateLimitPerMinute: number
  /** Extra readiness checks (trust store, pool...), by name. */
  readiness?: Record<string, () => Promise<{ ok: boolean, detail?: string }>>
  /** Prometheus metrics of this process; without them there is no /metrics and nothing is counted. */
  metrics?: HubMetrics
  /** Bearer token GET /metrics requires (empty or absent: open). */
  metricsToken?: string | undefined
}
