import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { HubConfig } from '../config/config.js'
import type { Database } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import { startDeliveryWorker, type DeliveryWorker } from '../delivery/delivery-worker.js'
import { startReceiptCallbacks } from '../delivery/receipt-callbacks.js'
import { startRetention } from '../retention/remove-expired-content.js'
import { startCheckpoints } from '../evidence/signature-log-checkpoints.js'
import type { HubMetrics } from '../metrics/hub-metrics.js'
import { rateLimitedErrorLog } from '../logging/rate-limited-error-log.js'
import { openRevocationSync, REGISTRY_POLL_MS } from './revocation-sync.js'
import { verificationPoolOptions } from './verification-pool-options.js'
import type { TrustStore } from '../pki/trust-store.js'
import { AgencyRegistry } from '../registry/agency-registry.js'
import { defaultPolicy, type VerificationPolicy } from '../verification/verification-policy.js'
import { createVerificationPool, type VerificationPool } from '../verification/verification-pool.js'
import type { AcceptDependencies } from '../accept/accept-submission.js'
import { DeliveryQueue } from '../queue/delivery-queue.js'
import { startConfiguredUpstreams, type ConfiguredUpstreams } from '../upstream/start-upstreams.js'
import { upstreamSender } from '../upstream/send-upstream.js'
import { listUpstreams } from '../store/routes.js'
import { peerSender } from '../delivery/peer-forward.js'
import { verifyReceipt } from '../evidence/receipts/verify.js'
import { storedPeerHubs } from '../routing/peer-hubs.js'
import { createReceiptSigningPool } from '../evidence/receipt-signing-pool.js'

/** The delivery worker with the hub's configuration (used by `start` and `worker`). */
/** `metrics`: where attempts and latency are counted (`start` passes the gateway's own). */
/**
 * `shared` (in `start`): the gateway's trust store, registry, verification pool and receipt
 * signer, which the upstream poller uses instead of its own.
 */
export interface SharedWithGateway {
  trustStore: () => TrustStore
  registry: () => AgencyRegistry
  verify: AcceptDependencies['verify']
  signReceipt: NonNullable<AcceptDependencies['signReceipt']>
}

export async function startConfiguredWorker (config: HubConfig, db: Database, hub: HubIdentity, logger: Logger, metrics?: HubMetrics, shared?: SharedWithGateway): Promise<DeliveryWorker & { upstreams: ConfiguredUpstreams | undefined }> {
  const d = config.delivery
  // Recipients' own signed receipts are verified with the same trust store (directory + CRLs
  // fetched into PostgreSQL, CAs added by admins) and registry (the database's agencies) as
  // documents; receipts are small: a 1 MB cap. In `start` the gateway's view is shared; a worker
  // process keeps its own, polled like a gateway's (REGISTRY_POLL_MS).
  const revocation = shared == null
    ? await openRevocationSync({ db, trustDir: config.trustDir, registryFile: config.registryFile, pollMs: Math.min(REGISTRY_POLL_MS, config.crl.refreshMs), logger })
    : undefined
  const trustStore = shared?.trustStore ?? (revocation as NonNullable<typeof revocation>).trustStore
  const fileRegistry = await AgencyRegistry.load(config.registryFile)
  const registry = shared?.registry ?? ((): AgencyRegistry => revocation?.registry() ?? fileRegistry)
  const basePolicy: VerificationPolicy = {
    ...defaultPolicy(trustStore(), registry()),
    maxBytes: 1024 * 1024,
    requireRevocation: config.requireRevocation
  }
  const receiptPolicy = (): VerificationPolicy => ({ ...basePolicy, trustStore: trustStore(), registry: registry() })
  const tls = {
    // Present the chain with the leaf, so a recipient that trusts only the root can verify it.
    cert: Buffer.concat([await readFile(d.clientCertFile), ...(config.hubChainFile != null ? [await readFile(config.hubChainFile)] : [])]),
    key: await readFile(d.clientKeyFile),
    ...(d.serverCaFile != null ? { ca: await readFile(d.serverCaFile) } : {})
  }
  // Receipts (delivery and failure receipts, acceptances of what an upstream brings) are signed
  // off the event loop: in `start` in the gateway's signing threads, in a `worker` process in a
  // pool of its own (receipt-signing-pool.ts), so a burst of deliveries never signs on the thread
  // that drives them.
  const ownSigner = shared == null ? createReceiptSigningPool(hub) : undefined
  const signReceipt = shared?.signReceipt ?? (ownSigner as NonNullable<typeof ownSigner>).sign
  const retry = { baseDelayMs: d.retryBaseMs, maxDelayMs: Math.max(d.retryBaseMs, 15 * 60 * 1000), windowMs: d.retryWindowMs }
  // Receipts pushed to senders that receive by push (see receipt-callbacks.ts).
  const callbacks = startReceiptCallbacks({
    db, tls, timeoutMs: d.timeoutMs, retry, intervalMs: d.receiptCallbackIntervalMs, pushSettings: d.push, onError: (err) => logger.warn({ err }, 'receipt callbacks: round failed')
  })
  // The registry's (and the CLI's) upstream VDXP axes (src/upstream/), as stored at start: this
  // worker polls them and sends the deliveries routed to them. What a poll fetches is verified in
  // a verification pool, like the gateway's documents: on the main thread a large document would
  // stall every delivery of this worker for as long as its verification takes. In `start` it is
  // the gateway's pool; a `worker` process starts its own (with the same CRLs, trust CAs and
  // agencies, reloaded on change) only when there is an upstream to poll.
  const upstreams = (await listUpstreams(db)).map((u) => ({ id: u.upstream_id, endpoint: u.endpoint, systemId: u.system_id, secretFile: u.secret_file, secretEnv: u.secret_env }))
  const upstreamQueue = upstreams.length > 0 ? new DeliveryQueue(config.redisUrl, config.queuePrefix) : undefined
  const ownPool: VerificationPool | undefined = upstreams.length > 0 && revocation != null
    ? await createVerificationPool(verificationPoolOptions(config, revocation.workerInputs(), (err) => { logger.error({ err }, 'upstream verification pool: a thread failed') }))
    : undefined
  revocation?.attach(ownPool ?? { reload: async () => {} })
  const upstreamVerify: AcceptDependencies['verify'] | undefined = shared?.verify ?? (ownPool != null ? async (bytes, options) => await ownPool.verify(bytes, options) : undefined)
  const configuredUpstreams = upstreamQueue == null || upstreamVerify == null
    ? undefined
    : await startConfiguredUpstreams(upstreams, db, {
      db,
      hub,
      queue: upstreamQueue,
      verify: upstreamVerify,
      signReceipt,
      onEnqueueError: (err, ids) => logger.warn({ err, deliveries: ids.length }, 'upstream: enqueue failed; the reconciler will retry')
    }, { redisUrl: config.redisUrl, prefix: config.queuePrefix, pollMs: config.upstream.pollMs, timeoutMs: config.upstream.timeoutMs, maxBytes: config.maxBytes }, logger)
  const worker = startDeliveryWorker({
    receiptPolicy,
    signReceipt,
    db,
    hub,
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    concurrency: d.concurrency,
    perRecipient: d.perRecipient,
    maxPerRecipient: d.maxPerRecipient,
    timeoutMs: d.timeoutMs,
    ...(d.workerLockMs != null ? { lockDurationMs: d.workerLockMs } : {}),
    stalledIntervalMs: d.workerStalledMs,
    retry,
    tls,
    pushSettings: d.push,
    // Deliveries routed to a peer hub go there over mutual TLS with the push client's identity;
    // each hop's receipt is verified with this worker's trust store, pinned to the peer's signing
    // certificate. Upstream axes have their sender when the registry lists any.
    routeSenders: {
      peer: peerSender({
        db,
        hubId: config.hubId,
        peers: storedPeerHubs(db),
        verifyReceipt: async (xml, pin) => await verifyReceipt(xml, trustStore(), { hub: pin, requireRevocation: config.requireRevocation }),
        timeoutMs: d.timeoutMs,
        tls,
        pushSettings: d.push
      }),
      ...(configuredUpstreams != null ? { upstream: upstreamSender({ clients: configuredUpstreams.clients }) } : {})
    },
    // One 'error' per reconnection attempt while Redis is down: one line per 30 s, with the count.
    onError: rateLimitedErrorLog('delivery worker: Redis error', { logger }),
    // The trail (delivery_events 'outcome-dropped') has it too; the log is where an operator looks first.
    onSuperseded: (deliveryId, outcome) => logger.warn({ deliveryId, outcome }, 'delivery worker: this attempt lost its claim (job lock lost while paused or stalled; another worker took the delivery over): its outcome was dropped'),
    ...(metrics != null ? { metrics } : {})
  })
  const stopRetention = config.retentionDays == null
    ? () => {}
    : startRetention(db, {
      retentionDays: config.retentionDays,
      intervalMs: config.retentionIntervalMs,
      onRun: (removed) => { if (removed > 0) logger.info({ removed, retentionDays: config.retentionDays }, 'retention: removed the signed bytes of finished documents') },
      onError: (err) => logger.warn({ err }, 'retention: run failed')
    })
  // Signed checkpoints of the signature log head (docs/signature-log.md, "Checkpoints").
  const checkpoints = startCheckpoints(db, hub, {
    intervalMs: config.checkpointIntervalMs,
    onIssued: (c) => logger.info({ checkpoint: c.id, headId: c.signed.checkpoint.headId, entries: c.signed.checkpoint.entries }, 'signature log: checkpoint signed'),
    onError: (err) => logger.error({ err }, 'signature log: checkpoint NOT issued')
  })
  return {
    ...worker,
    upstreams: configuredUpstreams,
    close: async (deadlineMs?: number) => {
      await checkpoints.close()
      stopRetention()
      revocation?.close()
      await callbacks.close()
      await configuredUpstreams?.close()
      await upstreamQueue?.close()
      await worker.close(deadlineMs)
      await ownPool?.close()
      // After the worker: its last deliveries may still sign their receipts.
      await ownSigner?.close()
    }
  }
}
