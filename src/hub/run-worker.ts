import pino from 'pino'
import { loadConfig } from '../config/config.js'
import { warnUnknownEnvKeys } from '../config/unknown-env-keys.js'
import { refuseDemoMaterial } from '../config/demo-material.js'
import { loadHubIdentity } from '../evidence/hub-identity.js'
import { openHubDatabase, redisUnreachableMessage } from './open-database.js'
import { logRedaction } from './log-redaction.js'
import { startConfiguredWorker } from './start-worker.js'
import { startConfiguredCrlRefresh } from './start-crl-refresh.js'
import { startConfiguredDirectoryRefresh } from './start-directory.js'
import { openRevocationSync, REGISTRY_POLL_MS } from './revocation-sync.js'
import { warnExpiringCertificates } from './readiness-checks.js'
import { DeliveryQueue } from '../queue/delivery-queue.js'
import { startReconciler } from '../queue/reconciler.js'
import { HubMetrics } from '../metrics/hub-metrics.js'
import { startMetricsServer } from '../metrics/metrics-server.js'
import { rateLimitedErrorLog, setProcessErrorLogger } from '../logging/rate-limited-error-log.js'

/** The body of `lienthong worker` (loaded only when it runs). */
export async function runWorker (): Promise<void> {
  const config = loadConfig()
  if (config.databaseUrl == null) {
    throw new Error('lienthong worker shares PostgreSQL with the gateways: set DATABASE_URL (the embedded database belongs to `lienthong start`)')
  }
  refuseDemoMaterial(config, 'worker')
  const logger = pino({ level: config.logLevel, redact: logRedaction, base: { role: 'worker' } })
  setProcessErrorLogger(logger)
  warnUnknownEnvKeys(logger)
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  const hub = await loadHubIdentity({ keyFile: config.hubKeyFile, certFile: config.hubCertFile, ...(config.hubChainFile != null ? { chainFile: config.hubChainFile } : {}) })
  const queue = new DeliveryQueue(config.redisUrl, config.queuePrefix)
  if (!(await queue.waitReady(3000))) {
    process.stderr.write(`lienthong worker: ${redisUnreachableMessage(config.redisUrl, 'deliveries wait in PostgreSQL and this worker consumes them once it is back')}\n`)
  }
  // A round fails every interval while Redis or the database is down: seen, but not every 5 s.
  const stopReconciler = startReconciler(db, queue, config.reconcileIntervalMs, rateLimitedErrorLog('reconciler round failed (retried next round)', { logger }), config.reconcileGraceMs, config.delivery.timeoutMs + 1000)
  // This process's own counters (attempts, latency, process); the hub-wide gauges come from the gateways.
  const metrics = new HubMetrics({ db, clusterGauges: false }, rateLimitedErrorLog('metrics: read failed', { logger }))
  const worker = await startConfiguredWorker(config, db, hub, logger, metrics)
  const metricsServer = config.workerMetricsPort == null
    ? undefined
    : await startMetricsServer(metrics, { host: config.host, port: config.workerMetricsPort, token: config.metricsToken })
  if (metricsServer != null) process.stdout.write(`lienthong worker: metrics on ${metricsServer.url}\n`)
  const crlRefresh = startConfiguredCrlRefresh(config, db, logger)
  // Peers' signed directories, verified against the trust store with the CRLs the refresh stored.
  const revocation = await openRevocationSync({ db, trustDir: config.trustDir, pollMs: Math.min(REGISTRY_POLL_MS, config.crl.refreshMs), logger })
  revocation.attach({ reload: async () => {} })
  const directoryRefresh = await startConfiguredDirectoryRefresh(config, db, revocation.trustStore, logger)
  await warnExpiringCertificates(config, hub, logger)
  process.stdout.write(`lienthong worker: consuming deliveries (concurrency ${config.delivery.concurrency}, ${config.delivery.perRecipient} per recipient)\n`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    process.stdout.write(`lienthong worker: ${signal}, finishing current deliveries\n`)
    stopReconciler()
    const crlRefreshStopped = Promise.all([crlRefresh?.close(), directoryRefresh.close().finally(() => { revocation.close() })])
    const finished = worker.close(config.shutdownTimeoutMs)
      .then(async () => { await crlRefreshStopped; await metricsServer?.close(); await queue.close(); await db.close() })
      .then(() => 'finished' as const)
    // The deadline is kept here, not only by worker.close(): once BullMQ's close() has begun to
    // wait for the jobs in progress, a second close(true) returns that same wait, so a delivery to
    // a recipient that answers slowly would hold the process up to the push timeout. Past the
    // deadline the process exits; the rows of its unfinished deliveries stay `sending`, and
    // another worker takes their jobs over once their locks expire (same Idempotency-Key).
    const deadline = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), config.shutdownTimeoutMs).unref())
    Promise.race([finished, deadline]).then((how) => {
      if (how === 'late') process.stdout.write(`lienthong worker: deliveries still in progress after ${config.shutdownTimeoutMs} ms are left to other workers\n`)
      process.exit(0)
    }, (err: unknown) => {
      process.stderr.write(`lienthong worker: stopping failed: ${(err as Error).message}\n`)
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
