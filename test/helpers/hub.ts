import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Database } from '../../src/db/database.js'
import { loadHubIdentity, type HubIdentity } from '../../src/evidence/hub-identity.js'
import { buildGateway } from '../../src/gateway/app.js'
import type { HubContext } from '../../src/gateway/hub-context.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { createApiKey } from '../../src/store/credentials.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { PKI, examplePolicy } from './example-pki.js'
import { testDatabase, type TeardownHost } from './database.js'

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export async function exampleHubIdentity (): Promise<HubIdentity> {
  return await loadHubIdentity({
    keyFile: join(PKI, 'hub', 'signing-key.pem'),
    certFile: join(PKI, 'hub', 'signing-cert.pem'),
    chainFile: join(PKI, 'trust', 'issuing-ca.pem')
  })
}

export interface TestHub {
  app: FastifyInstance
  db: Database
  queue: DeliveryQueue | undefined
  /** One API key per demo agency. */
  keys: Record<string, string>
  context: HubContext
}

/**
 * A gateway over a fresh PostgreSQL schema, a real Redis queue with its own prefix, the demo
 * registry and PKI; verification on the calling thread (the pool has its own tests).
 */
export async function testHub (t: TeardownHost, overrides: Partial<HubContext> & { db?: Database, redisUrl?: string | null } = {}): Promise<TestHub> {
  const { redisUrl, db: givenDb, ...contextOverrides } = overrides
  const db = givenDb ?? await testDatabase(t)
  const registry = await AgencyRegistry.load(join(PKI, 'registry.json'))
  await syncAgencies(db, registry)
  const keys: Record<string, string> = {}
  for (const agency of registry.all()) keys[agency.code] = (await createApiKey(db, agency.code, 'test')).key
  const policy = await examplePolicy()
  const queue = redisUrl === null ? undefined : new DeliveryQueue(redisUrl ?? REDIS_URL, `{lt-test-${randomBytes(4).toString('hex')}}`)
  if (queue != null) {
    await waitReady(queue)
    t.teardown(async () => {
      await queue.queue.obliterate({ force: true }).catch(() => {})
      await queue.close()
    })
  }
  const context: HubContext = {
    db,
    verify: async (bytes) => await verifyDocument(bytes, policy),
    queue,
    hub: await exampleHubIdentity(),
    maxBytes: 50 * 1024 * 1024,
    rateLimitPerMinute: 10_000,
    ...contextOverrides
  }
  const app = await buildGateway(context)
  t.teardown(async () => { await app.close() })
  return { app, db, queue, keys, context }
}

async function waitReady (queue: DeliveryQueue): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await queue.ping()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
