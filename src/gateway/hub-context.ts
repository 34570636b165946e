import type { Database } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import type { ReceiptFields } from '../evidence/receipts.js'
import type { HubMetrics } from '../metrics/hub-metrics.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'
import type { Verdict } from '../domain/verdict.js'
import type { RouteTableSource } from '../routing/stored-routes.js'
import type { TrustStore } from '../pki/trust-store.js'
import type { PublishedDirectory } from '../routing/directory/publish-directory.js'
import type { PeerHubs } from '../routing/peer-hubs.js'
import type { DirectoryProvider } from '../routing/directory/directory-provider.js'

/** What the gateway's routes need, built by the start/serve commands (or by tests). */
export interface HubContext {
  db: Database
  verify: (bytes: Buffer, options?: { expectedSender?: string, unsignedAllowed?: boolean, forwarded?: boolean }) => Promise<Verdict>
  queue: DeliveryQueue | undefined
  hub: HubIdentity
  /** Signs acceptance receipts off the event loop (receipt-signing-pool.ts); default: on the main thread. */
  signReceipt?: (fields: ReceiptFields) => Promise<string>
  maxBytes: number
  /** Requests per minute per resolved credential (agency + credential id). */
  rateLimitPerMinute: number
  /** Failed authentications per client address per minute (default 30). */
  authFailuresPerMinute?: number
  /** Slow-client timeouts (defaults: DEFAULT_TIMEOUTS in app.ts). */
  timeouts?: Partial<GatewayTimeouts>
  /** Request-body bytes in progress at once, overall and per credential (defaults: 4x and 2x maxBytes). */
  inFlightBytes?: { total: number, perCredential: number }
  /** Extra readiness checks (trust store, pool...), by name. */
  readiness?: Record<string, () => Promise<{ ok: boolean, detail?: string }>>
  /** Prometheus metrics of this process; without them there is no /metrics and nothing is counted. */
  metrics?: HubMetrics
  /**
   * Operator token: GET /metrics requires it when set, and /health/ready shows each check's
   * detail only to a request bearing it (without a token: statuses only, to everyone).
   */
  metricsToken?: string | undefined
  /**
   * Whether GET /metrics is served at all (default: when `metrics` is given). The hub processes
   * set it from the configuration: only with LIENTHONG_METRICS_TOKEN or LIENTHONG_METRICS_OPEN=1.
   */
  exposeMetrics?: boolean
  /** The key sealing VDXP system secrets (src/vdxp/secret-box.ts); without it /vdxp authenticates no one. */
  vdxpKey?: Buffer
  /** Peers, upstreams and rules (src/routing/stored-routes.ts); without them only local agencies are recipients. */
  routes?: RouteTableSource
  /** Console session lifetimes (default DEFAULT_SESSION_TIMES, scopes/principal-authenticator.ts). */
  sessions?: { idleMs: number, absoluteMs: number }
  /**
   * Mark the session cookie `Secure` even when the request came over plain HTTP (a TLS-terminating
   * proxy in front); without it the cookie is `Secure` exactly when the gateway itself serves TLS.
   */
  secureCookies?: boolean
  /** The trust store documents are verified with (directory + stored CRLs), for the admin API's trust view. */
  trustStore?: () => TrustStore
  /**
   * The registry or the trust store changed in the database (admin API): reloads this process's
   * view (verification threads included) now; other processes see it at their next poll. Without
   * it (tests) nothing is reloaded.
   */
  registryChanged?: () => Promise<void>
  /** This hub's signed directory (docs/directory.md); without it GET /.well-known/lienthong/directory is not served. */
  directory?: { current: () => Promise<PublishedDirectory> }
  /** This hub's id in the backbone (LIENTHONG_HUB_ID): hop lists, loop detection. */
  hubId?: string
  /** Registered peer hubs (the /peer scope authenticates them); without them /peer admits no one. */
  peers?: PeerHubs
  /** Hops a forwarded document may have made before this hub refuses it (default DEFAULT_HOP_LIMIT). */
  hopLimit?: number
  /**
   * Peers' signed directories in force (src/routing/directory/directory-provider.ts): the sender
   * binding of a forwarded document whose sender the registry does not know. Without them such a
   * document is refused (AGENCY_UNKNOWN).
   */
  peerDirectories?: Pick<DirectoryProvider, 'signerBinding'> & { reload?: () => Promise<void> }
}

export interface GatewayTimeouts {
  /** The request line and headers must arrive within this (Node headersTimeout). */
  headersMs: number
  /** The whole request, headers and body, must arrive within this (Node requestTimeout). */
  requestMs: number
  /** Longest pause between two chunks of a request body. */
  bodyIdleMs: number
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: number
}
