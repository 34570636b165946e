import type { Queryable } from '../db/database.js'
import type { RoutingSections } from '../registry/routing-sections.js'
import type { RouteTo } from '../registry/registry-format.js'

/**
 * Peers, upstreams and routing rules (migration 015_routes). Two sources: the registry file
 * (replaced as a whole at each start and reload: what is no longer in the file is gone) and the
 * admin CLI (kept until removed with the CLI). Rows carry plain strings; src/routing builds the
 * route table from them.
 */

export type RouteSourceOfRow = 'registry' | 'cli'
export type TargetKind = 'peer' | 'upstream'

export interface PeerRow {
  hub_id: string
  base_url: string
  server_certificates: string[]
  client_certificates: string[]
  signing_certificates: string[]
  source: RouteSourceOfRow
}

export interface UpstreamRow {
  upstream_id: string
  endpoint: string
  system_id: string
  secret_file: string | null
  secret_env: string | null
  source: RouteSourceOfRow
}

export interface RuleRow {
  rule_kind: 'explicit' | 'prefix' | 'default'
  pattern: string
  target_kind: TargetKind
  target_id: string
  source: RouteSourceOfRow
}

function target (to: RouteTo): { kind: TargetKind, id: string } {
  return 'peer' in to ? { kind: 'peer', id: to.peer } : { kind: 'upstream', id: to.upstream }
}

/**
 * Replaces the registry's rows with the file's sections, in one transaction with the caller.
 * A CLI row with the same key is left alone (the operator's change wins until removed), and the
 * file's row for that key is skipped.
 */
export async function syncRoutes (db: Queryable, sections: RoutingSections): Promise<{ peers: number, upstreams: number, rules: number }> {
  await db.query('DELETE FROM route_rules WHERE source = \'registry\'')
  await db.query('DELETE FROM route_peers WHERE source = \'registry\'')
  await db.query('DELETE FROM route_upstreams WHERE source = \'registry\'')
  for (const p of sections.peers) {
    await upsertPeer(db, { hub_id: p.id, base_url: p.url, server_certificates: p.serverCertificates, client_certificates: p.clientCertificates, signing_certificates: p.signingCertificates, source: 'registry' }, false)
  }
  for (const u of sections.upstreams) {
    await upsertUpstream(db, { upstream_id: u.id, endpoint: u.endpoint, system_id: u.systemId, secret_file: u.secretFile ?? null, secret_env: u.secretEnv ?? null, source: 'registry' }, false)
  }
  const rules: Array<Omit<RuleRow, 'source'>> = []
  const push = (kind: RuleRow['rule_kind'], pattern: string, to: RouteTo): void => {
    const t = target(to)
    rules.push({ rule_kind: kind, pattern, target_kind: t.kind, target_id: t.id })
  }
  for (const e of sections.routes.explicit) push('explicit', e.code, e.to)
  for (const e of sections.routes.prefixes) push('prefix', e.prefix, e.to)
  if (sections.routes.default != null) push('default', '*', sections.routes.default)
  for (const p of sections.peers) {
    for (const code of p.agencies) push('explicit', code, { peer: p.id })
    for (const prefix of p.prefixes) push('prefix', prefix, { peer: p.id })
  }
  for (const r of rules) await upsertRule(db, { ...r, source: 'registry' }, false)
  return { peers: sections.peers.length, upstreams: sections.upstreams.length, rules: rules.length }
}

/** Adds or replaces a peer; `replaceOther`: also over a row of the other source. False when a row of the other source kept its place. */
export async function upsertPeer (db: Queryable, p: PeerRow, replaceOther = true): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO route_peers (hub_id, base_url, server_certificates, client_certificates, signing_certificates, source)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (hub_id) DO UPDATE SET base_url = EXCLUDED.base_url, server_certificates = EXCLUDED.server_certificates,
       client_certificates = EXCLUDED.client_certificates, signing_certificates = EXCLUDED.signing_certificates,
       source = EXCLUDED.source, updated_at = now()
     WHERE $7 OR route_peers.source = EXCLUDED.source RETURNING hub_id`,
    [p.hub_id, p.base_url, p.server_certificates, p.client_certificates, p.signing_certificates, p.source, replaceOther])
  return rows.length > 0
}

export async function upsertUpstream (db: Queryable, u: UpstreamRow, replaceOther = true): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO route_upstreams (upstream_id, endpoint, system_id, secret_file, secret_env, source) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (upstream_id) DO UPDATE SET endpoint = EXCLUDED.endpoint, system_id = EXCLUDED.system_id,
       secret_file = EXCLUDED.secret_file, secret_env = EXCLUDED.secret_env, source = EXCLUDED.source, updated_at = now()
     WHERE $7 OR route_upstreams.source = EXCLUDED.source RETURNING upstream_id`,
    [u.upstream_id, u.endpoint, u.system_id, u.secret_file, u.secret_env, u.source, replaceOther])
  return rows.length > 0
}

export async function upsertRule (db: Queryable, r: RuleRow, replaceOther = true): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO route_rules (rule_kind, pattern, target_kind, target_id, source) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (rule_kind, pattern) DO UPDATE SET target_kind = EXCLUDED.target_kind, target_id = EXCLUDED.target_id,
       source = EXCLUDED.source, updated_at = now()
     WHERE $6 OR route_rules.source = EXCLUDED.source RETURNING pattern`,
    [r.rule_kind, r.pattern, r.target_kind, r.target_id, r.source, replaceOther])
  return rows.length > 0
}

export async function listPeers (db: Queryable): Promise<PeerRow[]> {
  const { rows } = await db.query<PeerRow>('SELECT hub_id, base_url, server_certificates, client_certificates, signing_certificates, source FROM route_peers ORDER BY hub_id')
  return rows
}

export async function listUpstreams (db: Queryable): Promise<UpstreamRow[]> {
  const { rows } = await db.query<UpstreamRow>('SELECT upstream_id, endpoint, system_id, secret_file, secret_env, source FROM route_upstreams ORDER BY upstream_id')
  return rows
}

/** Every rule, the CLI's first (so they take precedence in the route table), then by kind and pattern. */
export async function listRules (db: Queryable): Promise<RuleRow[]> {
  const { rows } = await db.query<RuleRow>(
    `SELECT rule_kind, pattern, target_kind, target_id, source FROM route_rules
     ORDER BY source = 'cli' DESC, rule_kind, pattern`)
  return rows
}

export async function removeRule (db: Queryable, kind: RuleRow['rule_kind'], pattern: string): Promise<RuleRow | undefined> {
  const { rows } = await db.query<RuleRow>('DELETE FROM route_rules WHERE rule_kind = $1 AND pattern = $2 RETURNING rule_kind, pattern, target_kind, target_id, source', [kind, pattern])
  return rows[0]
}

/** Removes a peer; refused (returns the rules) while rules still lead to it. */
export async function removePeer (db: Queryable, hubId: string): Promise<{ removed: boolean, rulesLeft: RuleRow[] }> {
  const { rows: left } = await db.query<RuleRow>('SELECT rule_kind, pattern, target_kind, target_id, source FROM route_rules WHERE target_kind = \'peer\' AND target_id = $1 ORDER BY pattern', [hubId])
  if (left.length > 0) return { removed: false, rulesLeft: left }
  const { rows } = await db.query('DELETE FROM route_peers WHERE hub_id = $1 RETURNING hub_id', [hubId])
  return { removed: rows.length > 0, rulesLeft: [] }
}

/** A cheap fingerprint of the routing tables: the route table is rebuilt when it changes. */
export async function routesVersion (db: Queryable): Promise<string> {
  const { rows } = await db.query<{ v: string }>(
    `SELECT concat_ws('/', (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM route_rules),
                           (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM route_peers),
                           (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM route_upstreams)) AS v`)
  return rows[0]?.v ?? ''
}
