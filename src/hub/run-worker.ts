import pino from 'pino'
import { loadConfig } from '../config/config.js'
import { loadHubIdentity } from '../evidence/hub-identity.js'
import { openHubDatabase } from './open-database.js'
import { logRedaction } from './log-redaction.js'
import { startConfiguredWorker } from './start-worker.js'
import { DeliveryQueue } from '../queue/delivery-queue.js'
import { startReconciler } from '../queue/reconciler.js'

/** The body of `lienthong worker` (loaded only when it runs). */
export async function runWorker (): Promise<void> {
  const config = loadConfig()
  if (config.databaseUrl == null) {
    throw new Error('lienthong worker shares PostgreSQL with the gateways: set DATABASE_URL (the embedded database belongs to `lienthong start`)')
  }
  const logger = pino({ level: config.logLevel, redact: logRedaction, base: { role: 'worker' } })
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  const hub = await loadHubIdentity({ keyFile: config.hubKeyFile, certFile: config.hubCertFile, ...(config.hubChainFile != null ? { chainFile: config.hubChainFile } : {}) })
  const queue = new DeliveryQueue(config.redisUrl, config.queuePrefix)
  const stopReconciler = startReconciler(db, queue, config.reconcileIntervalMs, (err) => logger.debug({ err }, 'reconciler round failed'))
  const worker = await startConfiguredWorker(config, db, hub, logger)
  process.stdout.write(`lienthong worker: consuming deliveries (concurrency ${config.delivery.concurrency}, ${config.delivery.perRecipient} per recipient)\n`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    process.stdout.write(`lienthong worker: ${signal}, finishing current deliveries\n`)
    stopReconciler()
    worker.close(25_000)
      .then(async () => { await queue.close(); await db.close() })
      .then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
