import type { Logger } from 'pino'
import type { AcceptDependencies } from '../accept/accept-submission.js'
import type { Database } from '../db/database.js'
import { readUpstreamSecret, type UpstreamSecretSource } from '../config/upstream-secrets.js'
import { acceptFromUpstream } from './accept-from-upstream.js'
import { startUpstreamPoller, type UpstreamPoller } from './upstream-poller.js'
import { VdxpUpstreamClient, type UpstreamTls } from './vdxp-client.js'

/** An upstream as the registry declares it (/upstreams: id, endpoint, systemId, secretFile | secretEnv). */
export interface UpstreamDeclaration extends UpstreamSecretSource {
  endpoint: string
  systemId: string
}

export interface ConfiguredUpstreams {
  /** One client per upstream id: the `upstream` route sender uses them (send-upstream.ts). */
  clients: ReadonlyMap<string, VdxpUpstreamClient>
  poller: UpstreamPoller | undefined
  close: () => Promise<void>
}

export interface UpstreamSettings {
  redisUrl: string
  prefix: string
  pollMs: number
  timeoutMs: number
  maxBytes: number
  tls?: UpstreamTls
}

/**
 * The worker's upstream side: a client per declared upstream (its secret read from its file or
 * variable; one that cannot be read is left out with an error, its deliveries wait and say so)
 * and the poller, when there is at least one.
 */
export async function startConfiguredUpstreams (declared: readonly UpstreamDeclaration[], db: Database, accept: AcceptDependencies, settings: UpstreamSettings, logger: Logger): Promise<ConfiguredUpstreams> {
  const clients = new Map<string, VdxpUpstreamClient>()
  for (const u of declared) {
    try {
      const secret = await readUpstreamSecret(u)
      clients.set(u.id, new VdxpUpstreamClient({ id: u.id, endpoint: u.endpoint, systemId: u.systemId, secret }, {
        timeoutMs: settings.timeoutMs,
        // A document in base64 plus the answer's fields.
        maxAnswerBytes: Math.ceil(settings.maxBytes * 4 / 3) + 64 * 1024,
        ...(settings.tls != null ? { tls: settings.tls } : {})
      }))
    } catch (err) {
      logger.error({ err, upstream: u.id }, 'upstream: not started (its deliveries wait until this is fixed)')
    }
  }
  const poller = clients.size === 0
    ? undefined
    : await startUpstreamPoller({
      redisUrl: settings.redisUrl,
      prefix: settings.prefix,
      db,
      clients: [...clients.values()],
      accept: (id) => acceptFromUpstream(accept, id),
      intervalMs: settings.pollMs,
      onRound: (r) => {
        if (r.poll.listed > 0 || r.sentRefreshed > 0) logger.info({ upstream: r.upstreamId, ...r.poll, sentRefreshed: r.sentRefreshed }, 'upstream: poll round')
      },
      onItemError: (err, item) => logger.warn({ err, ...item }, 'upstream: item left for the next round'),
      onError: (err) => logger.warn({ err }, 'upstream: poll failed (retried next round)')
    })
  return { clients, poller, close: async () => { await poller?.close() } }
}
