import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { HubConfig } from '../config/config.js'
import type { Database } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import { startDeliveryWorker, type DeliveryWorker } from '../delivery/delivery-worker.js'

/** The delivery worker with the hub's configuration (used by `start` and `worker`). */
export async function startConfiguredWorker (config: HubConfig, db: Database, hub: HubIdentity, logger: Logger): Promise<DeliveryWorker> {
  const d = config.delivery
  return startDeliveryWorker({
    db,
    hub,
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    concurrency: d.concurrency,
    perRecipient: d.perRecipient,
    timeoutMs: d.timeoutMs,
    ...(d.workerLockMs != null ? { lockDurationMs: d.workerLockMs } : {}),
    stalledIntervalMs: d.workerStalledMs,
    retry: { baseDelayMs: d.retryBaseMs, maxDelayMs: Math.max(d.retryBaseMs, 15 * 60 * 1000), windowMs: d.retryWindowMs },
    tls: {
      // Present the chain with the leaf, so a recipient that trusts only the root can verify it.
      cert: Buffer.concat([await readFile(d.clientCertFile), ...(config.hubChainFile != null ? [await readFile(config.hubChainFile)] : [])]),
      key: await readFile(d.clientKeyFile),
      ...(d.serverCaFile != null ? { ca: await readFile(d.serverCaFile) } : {})
    },
    onError: (err) => logger.warn({ err }, 'delivery worker: Redis error')
  })
}
