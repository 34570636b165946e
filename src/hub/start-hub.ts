import { loadVdxpKey } from '../vdxp/load-vdxp-key.js'
import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import type { HubConfig } from '../config/config.js'
import { warnUnknownEnvKeys } from '../config/unknown-env-keys.js'
import type { Database } from '../db/database.js'
import { loadHubIdentity } from '../evidence/hub-identity.js'
import { createReceiptSigningPool } from '../evidence/receipt-signing-pool.js'
import { buildGateway } from '../gateway/app.js'
import { DeliveryQueue } from '../queue/delivery-queue.js'
import { enqueuePending, startReconciler } from '../queue/reconciler.js'
import { AgencyRegistry } from '../registry/agency-registry.js'
import { HubMetrics } from '../metrics/hub-metrics.js'
import { configuredReadinessChecks } from './readiness-checks.js'
import { openRevocationSync, REGISTRY_POLL_MS } from './revocation-sync.js'
import { verificationPoolOptions } from './verification-pool-options.js'
import { startConfiguredCrlRefresh } from './start-crl-refresh.js'
import { configuredDirectoryPublisher, directoryReadinessCheck, startConfiguredDirectoryRefresh } from './start-directory.js'
import { syncAgencies } from '../store/agencies.js'
import { syncRoutes } from '../store/routes.js'
import { StoredRoutes } from '../routing/stored-routes.js'
import { openDirectoryProvider } from '../routing/directory/directory-provider.js'
import { storedPeerHubs } from '../routing/peer-hubs.js'
import { createVerificationPool, type VerificationPool } from '../verification/verification-pool.js'
import { openHubDatabase, redisUnreachableMessage } from './open-database.js'
import { startConfiguredWorker } from './start-worker.js'
import { closeGateway } from './close-gateway.js'
import { logRedaction } from './log-redaction.js'
import type { DeliveryWorker } from '../delivery/delivery-worker.js'
import { rateLimitedErrorLog, setProcessErrorLogger } from '../logging/rate-limited-error-log.js'

export interface RunningHub {
  app: FastifyInstance
  db: Database
  pool: VerificationPool
  queue: DeliveryQueue
  url: string
  /** Reloads the trust store (in every verification worker) and re-seeds the agency registry. */
  reload: () => Promise<void>
  close: () => Promise<void>
}

/** Builds and starts the gateway (and, in `start`, the in-process parts around it). */
export async function startHub (config: HubConfig, options: { role: 'start' | 'serve' }): Promise<RunningHub> {
  const logger = pino({ level: config.logLevel, redact: logRedaction, base: { role: options.role } })
  setProcessErrorLogger(logger)
  warnUnknownEnvKeys(logger)
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  // The file seeds the database (its agencies that no admin changed); the rows rule from then on
  // (docs/agency-registry.md, "Registry in the database").
  const fileRegistry = await AgencyRegistry.load(config.registryFile)
  await syncAgencies(db, fileRegistry)
  // Peers, upstreams and routes of the registry file (the CLI's own rows stay): docs/deployment.md.
  await db.transaction(async (tx) => await syncRoutes(tx, fileRegistry.routing))
  // Codes listed in peers' signed directories (accepted by the directory refresh, possibly in a
  // worker), kept in memory: a recipient is resolved without waiting on the database or a peer.
  const peerDirectories = await openDirectoryProvider(db, 30_000, rateLimitedErrorLog('peer directories: reload failed (the last snapshot stays in use)', { logger }))
  const routes = new StoredRoutes(db, { directory: peerDirectories })
  const hub = await loadHubIdentity({ keyFile: config.hubKeyFile, certFile: config.hubCertFile, ...(config.hubChainFile != null ? { chainFile: config.hubChainFile } : {}) })
  // The stored (fetched) CRLs merged over the trust directory's, with the trust CAs and agencies
  // of the database, polled for changes (multi-node: an admin's change or the worker that fetches
  // CRLs may be elsewhere): see revocation-sync.ts.
  const revocation = await openRevocationSync({ db, trustDir: config.trustDir, registryFile: config.registryFile, pollMs: Math.min(REGISTRY_POLL_MS, config.crl.refreshMs), logger })
  const registry = (): AgencyRegistry => revocation.registry() ?? fileRegistry
  // What this hub publishes follows the registry, admin changes and reloads included.
  const directory = configuredDirectoryPublisher(config, db, hub, () => registry().all())
  const pool = await createVerificationPool(verificationPoolOptions(config, revocation.workerInputs()))
  revocation.attach(pool)
  // Acceptance receipts are signed in their own threads: a few ms of CPU each, off the event loop.
  const receiptSigner = createReceiptSigningPool(hub)
  const queue = new DeliveryQueue(config.redisUrl, config.queuePrefix)
  if (!(await queue.waitReady(3000))) {
    logger.warn(redisUnreachableMessage(config.redisUrl))
  }
  // A round fails every interval while Redis or the database is down: seen, but not every 5 s.
  const stopReconciler = startReconciler(db, queue, config.reconcileIntervalMs, rateLimitedErrorLog('reconciler round failed (retried next round)', { logger }), config.reconcileGraceMs, config.delivery.timeoutMs + 1000)
  enqueuePending(db, queue).catch((err: unknown) => logger.warn({ err }, 'enqueueing the pending deliveries at start failed; the reconciler enqueues them'))
  // One registry per process: in `start` the worker below counts into the gateway's /metrics.
  const metrics = new HubMetrics({ db, queue, pool }, rateLimitedErrorLog('metrics: read failed', { logger }))

  const app = await buildGateway({
    db,
    verify: async (bytes, options) => await pool.verify(bytes, options),
    queue,
    hub,
    signReceipt: receiptSigner.sign,
    maxBytes: config.maxBytes,
    rateLimitPerMinute: config.rateLimitPerMinute,
    authFailuresPerMinute: config.authFailuresPerMinute,
    timeouts: config.timeouts,
    inFlightBytes: config.inFlightBytes,
    readiness: { ...await configuredReadinessChecks(config, hub, revocation.trustStore, db, options.role), peerDirectories: directoryReadinessCheck(db) },
    directory,
    metrics,
    metricsToken: config.metricsToken,
    // Closed on the API port unless the operator set a token or explicitly opened it.
    exposeMetrics: config.metricsToken != null || config.metricsOpen,
    vdxpKey: await loadVdxpKey(config),
    routes,
    trustStore: revocation.trustStore,
    // An admin's change is live in this process when the API answers.
    registryChanged: async () => { await revocation.check() },
    sessions: { idleMs: config.sessions.idleMs, absoluteMs: config.sessions.absoluteMs },
    secureCookies: config.sessions.secureCookies,
    // Peer forwarding (docs/delivery.md): the /peer scope admits the configured peers only.
    hubId: config.hubId,
    hopLimit: config.hopLimit,
    peerDirectories,
    peers: storedPeerHubs(db)
  }, {
    logger: { level: config.logLevel, redact: logRedaction },
    ...(config.tls != null ? { https: await httpsOptions(config.tls) } : {})
  })
  const address = await app.listen({ host: config.host, port: config.port })
  // `start` is the single-node shape: the delivery worker runs in the same process.
  const worker: DeliveryWorker | undefined = options.role === 'start' ? await startConfiguredWorker(config, db, hub, logger, metrics, { trustStore: revocation.trustStore, registry, verify: async (bytes, o) => await pool.verify(bytes, o), signReceipt: receiptSigner.sign }) : undefined
  // ... and so does the CRL refresh; its gateway looks at the result at once instead of at the next poll.
  const crlRefresh = options.role === 'start'
    ? startConfiguredCrlRefresh(config, db, logger, () => { revocation.check().catch((err: unknown) => logger.warn({ err }, 'stored CRL check failed')) })
    : undefined
  // ... and so does the refresh of peer hubs' signed directories.
  const directoryRefresh = options.role === 'start' ? await startConfiguredDirectoryRefresh(config, db, revocation.trustStore, logger, () => { peerDirectories.reload().catch((err: unknown) => logger.warn({ err }, 'peer directories: reload failed')) }) : undefined
  let closed = false
  return {
    app,
    db,
    pool,
    queue,
    url: address,
    reload: async () => {
      const fresh = await AgencyRegistry.load(config.registryFile)
      await syncAgencies(db, fresh)
      await db.transaction(async (tx) => await syncRoutes(tx, fresh.routing))
      // After the seeding: the threads get the rows as the file left them.
      await revocation.reload()
      await routes.refresh()
    },
    close: async () => {
      if (closed) return
      closed = true
      stopReconciler()
      revocation.close()
      await crlRefresh?.close()
      await directoryRefresh?.close()
      peerDirectories.close()
      // Stop taking requests, let in-flight ones finish, then finish (or release) current jobs.
      // (closeGateway: fastify's close() alone waits for keep-alive connections; see there.)
      if (await closeGateway(app, config.shutdownTimeoutMs) === 'forced') {
        logger.warn(`shutdown: requests still in progress after ${config.shutdownTimeoutMs} ms were dropped (LIENTHONG_SHUTDOWN_TIMEOUT_MS)`)
      }
      await worker?.close(config.shutdownTimeoutMs)
      await pool.close()
      await receiptSigner.close()
      await queue.close()
      await db.close()
    }
  }
}

async function httpsOptions (tls: NonNullable<HubConfig['tls']>): Promise<import('node:https').ServerOptions> {
  return {
    key: await readFile(tls.keyFile),
    cert: await readFile(tls.certFile),
    ...(tls.clientCaFile != null
      ? { ca: await readFile(tls.clientCaFile), requestCert: true, rejectUnauthorized: false }
      : {})
  }
}
