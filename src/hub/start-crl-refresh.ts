import type { Logger } from 'pino'
import type { HubConfig } from '../config/config.js'
import type { Database } from '../db/database.js'
import { startCrlRefresh, type CrlRefreshJob, type CrlUrlResult } from './crl-refresh.js'

/**
 * The CRL refresh job with the hub's configuration (used by `worker` and `start`); undefined when
 * no CRL URL is configured.
 */
export function startConfiguredCrlRefresh (config: HubConfig, db: Database, logger: Logger, onRound?: (results: CrlUrlResult[]) => void): CrlRefreshJob | undefined {
  if (config.crl.urls.length === 0) return undefined
  logger.info({ urls: config.crl.urls, refreshMs: config.crl.refreshMs }, 'CRL refresh: fetching at start and every refreshMs')
  return startCrlRefresh({
    db,
    urls: config.crl.urls,
    trustDir: config.trustDir,
    intervalMs: config.crl.refreshMs,
    freshnessMarginMs: config.crl.freshnessMarginMs,
    logger,
    ...(onRound != null ? { onRound } : {})
  })
}
