import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import type { HubConfig } from '../config/config.js'
import type { Database } from '../db/database.js'
import { loadHubIdentity } from '../evidence/hub-identity.js'
import { buildGateway } from '../gateway/app.js'
import { DeliveryQueue } from '../queue/delivery-queue.js'
import { enqueuePending, startReconciler } from '../queue/reconciler.js'
import { AgencyRegistry } from '../registry/agency-registry.js'
import { TrustStore } from '../pki/trust-store.js'
import { syncAgencies } from '../store/agencies.js'
import { createVerificationPool, type VerificationPool } from '../verification/verification-pool.js'
import { openHubDatabase, safeUrl } from './open-database.js'
import { startConfiguredWorker } from './start-worker.js'
import { logRedaction } from './log-redaction.js'
import type { DeliveryWorker } from '../delivery/delivery-worker.js'

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
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  const registry = await AgencyRegistry.load(config.registryFile)
  await syncAgencies(db, registry)
  const hub = await loadHubIdentity({ keyFile: config.hubKeyFile, certFile: config.hubCertFile, ...(config.hubChainFile != null ? { chainFile: config.hubChainFile } : {}) })
  const pool = await createVerificationPool({
    trustDir: config.trustDir,
    registryFile: config.registryFile,
    maxBytes: config.maxBytes,
    requireRevocation: config.requireRevocation,
    ...(config.verifyThreads != null ? { threads: config.verifyThreads } : {}),
    ...(config.verifyQueue != null ? { maxQueue: config.verifyQueue } : {})
  })
  // The main thread's own view of the trust store, for readiness (the workers verify with theirs).
  const trust = { current: await TrustStore.load(config.trustDir) }
  const queue = new DeliveryQueue(config.redisUrl, config.queuePrefix)
  if (!(await waitForRedis(queue, 3000))) {
    logger.warn(`Redis is not reachable at ${safeUrl(config.redisUrl)}: documents are still accepted and stored, and queued ` +
      'for delivery when Redis is back. Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379')
  }
  const stopReconciler = startReconciler(db, queue, config.reconcileIntervalMs, (err) => logger.debug({ err }, 'reconciler round failed'))
  enqueuePending(db, queue).catch(() => {})

  const app = await buildGateway({
    db,
    verify: async (bytes) => await pool.verify(bytes),
    queue,
    hub,
    maxBytes: config.maxBytes,
    rateLimitPerMinute: config.rateLimitPerMinute,
    readiness: {
      // Revocation data must be fresh, or every document fails closed: say so before it happens.
      revocationData: async () => {
        const report = trust.current.crlFreshness()
        const stale = report.filter((c) => !c.fresh)
        const next = report.map((c) => c.nextUpdate).filter((n): n is string => n != null).sort()[0]
        return stale.length === 0
          ? { ok: true, detail: `${report.length} CRLs fresh; earliest nextUpdate ${next ?? 'none'}` }
          : { ok: false, detail: `stale CRL from ${stale.map((c) => c.issuer).join('; ')}` }
      }
    }
  }, {
    logger: { level: config.logLevel, redact: logRedaction },
    ...(config.tls != null ? { https: await httpsOptions(config.tls) } : {})
  })
  const address = await app.listen({ host: config.host, port: config.port })
  // `start` is the single-node shape: the delivery worker runs in the same process.
  const worker: DeliveryWorker | undefined = options.role === 'start' ? await startConfiguredWorker(config, db, hub, logger) : undefined
  let closed = false
  return {
    app,
    db,
    pool,
    queue,
    url: address,
    reload: async () => {
      const fresh = await AgencyRegistry.load(config.registryFile)
      const store = await TrustStore.load(config.trustDir)
      await pool.reload()
      trust.current = store
      await syncAgencies(db, fresh)
    },
    close: async () => {
      if (closed) return
      closed = true
      stopReconciler()
      // Stop taking requests, let in-flight ones finish, then finish (or release) current jobs.
      await app.close()
      await worker?.close()
      await pool.close()
      await queue.close()
      await db.close()
    }
  }
}

async function waitForRedis (queue: DeliveryQueue, ms: number): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await queue.ping()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
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
