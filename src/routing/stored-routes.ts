import type { Queryable } from '../db/database.js'
import { listPeers, listRules, listUpstreams, routesVersion, type RuleRow } from '../store/routes.js'
import type { RemoteTarget } from './route.js'
import { RouteTable, type DirectoryProvider, type RouteRules } from './route-table.js'

/** What the accept path asks: the current route table (without local agencies: it reads those itself). */
export interface RouteTableSource {
  table: () => Promise<RouteTable>
}

export interface StoredRoutesOptions {
  directory?: DirectoryProvider
  /** How often the tables are checked for changes (the CLI writes them while the hub runs); default 5 s. */
  refreshMs?: number
  now?: () => number
}

/**
 * The route table of this process, built from the database (migration 015) and rebuilt when the
 * routing tables change: every gateway and worker replica sees a `lienthong route add` within
 * `refreshMs`, without a restart. A change is noticed by a one-row version query, so an idle check
 * costs one round trip per interval, never one per document.
 */
export class StoredRoutes implements RouteTableSource {
  private current: { table: RouteTable, version: string, checkedAt: number } | undefined
  private pending: Promise<RouteTable> | undefined

  constructor (private readonly db: Queryable, private readonly options: StoredRoutesOptions = {}) {}

  async table (): Promise<RouteTable> {
    const now = (this.options.now ?? Date.now)()
    if (this.current != null && now - this.current.checkedAt < (this.options.refreshMs ?? 5000)) return this.current.table
    this.pending ??= this.refresh(now).finally(() => { this.pending = undefined })
    return await this.pending
  }

  /** Reads the tables again now (after a reload, or in tests). */
  async refresh (now = (this.options.now ?? Date.now)()): Promise<RouteTable> {
    const version = await routesVersion(this.db)
    if (this.current != null && this.current.version === version) {
      this.current.checkedAt = now
      return this.current.table
    }
    const [rules, peers, upstreams] = await Promise.all([listRules(this.db), listPeers(this.db), listUpstreams(this.db)])
    const peerIds = new Set(peers.map((p) => p.hub_id))
    const upstreamIds = new Set(upstreams.map((u) => u.upstream_id))
    const table = new RouteTable(rulesFromRows(rules, peerIds, upstreamIds), {
      knownPeers: peerIds,
      ...(this.options.directory != null ? { directory: this.options.directory } : {})
    })
    this.current = { table, version, checkedAt: now }
    return table
  }
}

/** Rows -> rules; a rule whose peer or upstream is no longer configured leads nowhere and is left out. */
export function rulesFromRows (rows: readonly RuleRow[], peers: ReadonlySet<string>, upstreams: ReadonlySet<string>): RouteRules {
  const rules: { explicit: RouteRules['explicit'][number][], prefixes: RouteRules['prefixes'][number][], default?: RemoteTarget } = { explicit: [], prefixes: [] }
  for (const row of rows) {
    const target: RemoteTarget = row.target_kind === 'peer' ? { kind: 'peer', hubId: row.target_id } : { kind: 'upstream', upstreamId: row.target_id }
    if (!(row.target_kind === 'peer' ? peers : upstreams).has(row.target_id)) continue
    if (row.rule_kind === 'explicit') rules.explicit.push({ code: row.pattern, target })
    else if (row.rule_kind === 'prefix') rules.prefixes.push({ prefix: row.pattern, target })
    else rules.default ??= target
  }
  return rules
}
