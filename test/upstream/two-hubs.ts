import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { insertVdxpSystem } from '../../src/store/vdxp-systems.js'
import { sealSecret } from '../../src/vdxp/secret-box.js'
import { VdxpUpstreamClient } from '../../src/upstream/vdxp-client.js'
import { acceptFromUpstream } from '../../src/upstream/accept-from-upstream.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { testDatabase } from '../helpers/database.js'
import { StoredRoutes } from '../../src/routing/stored-routes.js'
import { upsertRule, upsertUpstream } from '../../src/store/routes.js'

/**
 * Hub 2 is the upstream: a real lienthong gateway listening on HTTP with its /vdxp API, where
 * hub 1 is registered as the VDXP system `hub-1` serving hub 1's agencies. Hub 1 is a second
 * gateway (own PostgreSQL schema, own queue prefix) whose upstream client calls hub 2 over HTTP.
 */
export interface TwoHubs {
  hub1: TestHub
  hub2: TestHub
  /** Hub 2's /vdxp endpoint, as hub 1's registry would name it. */
  endpoint: string
  /** Hub 1's client for the upstream `hub-2`. */
  client: VdxpUpstreamClient
  accept: ReturnType<typeof acceptFromUpstream>
}

export const UPSTREAM_ID = 'hub-2'

/**
 * `remoteOnHub1`: agencies served by hub 2 only: removed from hub 1's agency table, and hub 1
 * routes everything it does not serve to hub 2 (default route `upstream: hub-2`).
 */
export async function twoHubs (t: Test, hub1Agencies: string[], remoteOnHub1: string[] = []): Promise<TwoHubs> {
  const key = randomBytes(32)
  const hub2 = await testHub(t, { redisUrl: null, vdxpKey: key, authFailuresPerMinute: 10_000 })
  const secret = randomBytes(24).toString('base64')
  await insertVdxpSystem(hub2.db, { systemId: 'hub-1', agencies: hub1Agencies, allowDirectoryChanges: false, sealed: sealSecret(key, 'hub-1', secret), ipAllowList: [] })
  await hub2.app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(hub2.app.server.address() as AddressInfo).port}/vdxp`
  const db1 = await testDatabase(t)
  const hub1 = await testHub(t, { db: db1, routes: new StoredRoutes(db1, { refreshMs: 0 }) })
  // Hub 2's agencies send through hub 2: on hub 1 they are registry rows that verify what hub 1
  // fetches, with no credential (an agency that submits to hub 1 itself is never fetched from
  // an upstream, src/accept/upstream-path.ts).
  await db1.query('DELETE FROM agency_credentials WHERE NOT (agency_code = ANY($1))', [hub1Agencies])
  if (remoteOnHub1.length > 0) {
    await db1.query('DELETE FROM agency_credentials WHERE agency_code = ANY($1)', [remoteOnHub1])
    // Signing certificates rows (migration 023) reference the agency: they go first.
    await db1.query('DELETE FROM agency_signing_certificates WHERE agency_code = ANY($1)', [remoteOnHub1])
    await db1.query('DELETE FROM agencies WHERE code = ANY($1)', [remoteOnHub1])
    await upsertUpstream(db1, { upstream_id: UPSTREAM_ID, endpoint, system_id: 'hub-1', secret_file: null, secret_env: 'HUB_2_SECRET', source: 'cli' })
    await upsertRule(db1, { rule_kind: 'default', pattern: '*', target_kind: 'upstream', target_id: UPSTREAM_ID, source: 'cli' })
  }
  const client = new VdxpUpstreamClient({ id: UPSTREAM_ID, endpoint, systemId: 'hub-1', secret }, { timeoutMs: 10_000 })
  const accept = acceptFromUpstream({ db: hub1.db, verify: hub1.context.verify, queue: hub1.queue, hub: hub1.context.hub }, UPSTREAM_ID)
  return { hub1, hub2, endpoint, client, accept }
}

/** A document submitted to `hub` by `from` through POST /v1/documents (202 expected). */
export async function submitV1 (t: Test, hub: TestHub, from: string, bytes: Buffer): Promise<string> {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${hub.keys[from] ?? ''}`, 'content-type': 'application/xml' }, payload: bytes })
  t.equal(res.statusCode, 202, `submitted to the hub by ${from}: ${res.body.slice(0, 200)}`)
  return (res.json() as { id: string }).id
}

export async function scalar (hub: TestHub, sql: string, params: unknown[] = []): Promise<string | undefined> {
  const { rows } = await hub.db.query<{ v: unknown }>(sql, params)
  const v = rows[0]?.v
  return v == null ? undefined : String(v)
}
