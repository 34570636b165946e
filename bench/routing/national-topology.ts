import { RouteTable, type RouteRules } from '../../src/routing/route-table.js'
import type { RemoteTarget } from '../../src/routing/route.js'

/**
 * A national backbone in memory (issue 13, docs/deployment.md "Simulation"): one axis, provincial
 * hubs (agency codes under H01..Hnn), ministry hubs (under G01..Gnn), each hub with the route
 * table it would have: its own agencies local, everything else by default to the axis (an
 * upstream); the axis with one prefix rule per hub (Hnn / Gnn -> that hub as a peer) and no
 * default. Every route decision is the real RouteTable's.
 */
export interface TopologyOptions {
  provinces: number
  ministries: number
  agencies: number
  /** Random agency pairs checked (besides one pair for every ordered pair of hubs). */
  samples: number
  /** Deterministic pseudo-random choice (tests); default Math.random. */
  random?: () => number
  /** Drop the axis's prefix rule for this entity (a broken configuration the check must catch). */
  breakAxisRuleFor?: string
}

export interface TopologyReport {
  hubs: number
  agencies: number
  pairsChecked: number
  hubPairsChecked: number
  maxHubsOnPath: number
  failures: string[]
  /** ns per resolve() over every agency code, at the axis and at one provincial hub. */
  nsPerLookupAxis: number
  nsPerLookupProvince: number
  /** Heap growth while building all the route tables and local sets (bytes). */
  tableHeapBytes: number
}

interface Hub { id: string, entity: string, table: RouteTable }
const AXIS = 'axis'

export function simulateNationalTopology (options: TopologyOptions): TopologyReport {
  const random = options.random ?? Math.random
  const entities = [
    ...Array.from({ length: options.provinces }, (_, i) => `H${String(i + 1).padStart(2, '0')}`),
    ...Array.from({ length: options.ministries }, (_, i) => `G${String(i + 1).padStart(2, '0')}`)
  ]
  // Agency codes spread over the entities: 000.<a>.<b>.<entity>, the entity's own code first.
  const codesOf = new Map<string, string[]>(entities.map((e) => [e, [`000.00.00.${e}`]]))
  for (let i = 0; codesOf.size > 0 && i < options.agencies - entities.length; i++) {
    const entity = entities[i % entities.length] as string
    const k = Math.floor(i / entities.length) + 1
    codesOf.get(entity)?.push(`000.${String(Math.floor(k / 100)).padStart(2, '0')}.${String(k % 100).padStart(2, '0')}.${entity}`)
  }
  const all = [...codesOf.values()].flat()

  global.gc?.()
  const heapBefore = process.memoryUsage().heapUsed
  const hubs = new Map<string, Hub>()
  const upstream: RemoteTarget = { kind: 'upstream', upstreamId: AXIS }
  for (const entity of entities) {
    const local = new Set(codesOf.get(entity))
    hubs.set(`hub-${entity.toLowerCase()}`, { id: `hub-${entity.toLowerCase()}`, entity, table: new RouteTable({ explicit: [], prefixes: [], default: upstream }, { isLocal: (c) => local.has(c) }) })
  }
  const axisRules: RouteRules = {
    explicit: [],
    prefixes: entities.filter((e) => e !== options.breakAxisRuleFor).map((e) => ({ prefix: e, target: { kind: 'peer', hubId: `hub-${e.toLowerCase()}` } }))
  }
  hubs.set(AXIS, { id: AXIS, entity: '', table: new RouteTable(axisRules) })
  global.gc?.()
  const tableHeapBytes = process.memoryUsage().heapUsed - heapBefore

  const failures: string[] = []
  let maxHubsOnPath = 0
  // Follows the route from the sender's hub until a hub holds the recipient locally.
  const walk = (fromHub: string, to: string): void => {
    const path = [fromHub]
    let at = hubs.get(fromHub) as Hub
    for (;;) {
      const route = at.table.resolve(to)
      if (route == null) { failures.push(`${path.join(' -> ')}: ${to} unroutable at ${at.id}`); return }
      if (route.target.kind === 'local') break
      const next = route.target.kind === 'peer' ? route.target.hubId : route.target.upstreamId
      if (path.includes(next) || path.length > 8) { failures.push(`${path.join(' -> ')} -> ${next}: loop for ${to}`); return }
      path.push(next)
      at = hubs.get(next) as Hub
    }
    maxHubsOnPath = Math.max(maxHubsOnPath, path.length)
    if (path.length > 3) failures.push(`${path.join(' -> ')}: ${to} takes ${path.length} hubs`)
  }
  const hubOf = (code: string): string => `hub-${(code.split('.').at(-1) as string).toLowerCase()}`
  let pairs = 0
  for (let i = 0; i < options.samples; i++) {
    const from = all[Math.floor(random() * all.length)] as string
    const to = all[Math.floor(random() * all.length)] as string
    walk(hubOf(from), to)
    pairs++
  }
  let hubPairs = 0
  for (const a of entities) {
    for (const b of entities) {
      const codes = codesOf.get(b) as string[]
      walk(`hub-${a.toLowerCase()}`, codes[codes.length - 1] as string)
      hubPairs++
    }
  }

  const time = (table: RouteTable): number => {
    let sink = 0
    for (const code of all) sink += table.resolve(code) == null ? 0 : 1 // warm-up
    const rounds = Math.max(1, Math.floor(1_000_000 / all.length))
    const started = process.hrtime.bigint()
    for (let r = 0; r < rounds; r++) for (const code of all) sink += table.resolve(code) == null ? 0 : 1
    const ns = Number(process.hrtime.bigint() - started) / (rounds * all.length)
    if (sink < 0) throw new Error('unreachable')
    return ns
  }
  return {
    hubs: hubs.size,
    agencies: all.length,
    pairsChecked: pairs,
    hubPairsChecked: hubPairs,
    maxHubsOnPath,
    failures,
    nsPerLookupAxis: time((hubs.get(AXIS) as Hub).table),
    nsPerLookupProvince: time((hubs.get('hub-h01') as Hub).table),
    tableHeapBytes
  }
}
