import { parseRoutePattern } from '../domain/route-pattern.js'
import type { AgencyEntry, PeerEntry, RegistryFile, RoutesSection, RouteTo, UpstreamEntry } from './registry-format.js'

/** The registry file's backbone sections, checked against each other and the agencies. */
export interface RoutingSections {
  peers: PeerEntry[]
  upstreams: UpstreamEntry[]
  routes: RoutesSection
}

/**
 * Checks what the schema cannot: ids unique, every route pointing at a declared peer or
 * upstream, prefix rules well formed, no route for a code that is one of this hub's own agencies
 * (the local agency always wins: such a route would be dead and misleading), no code or prefix
 * claimed twice, an upstream's secret named exactly once. Returns a message with the JSON path of
 * the first problem, or the normalised sections (fingerprints lower-case without colons).
 */
export function checkRoutingSections (file: RegistryFile, agencies: ReadonlyMap<string, AgencyEntry>, normalise: (fp: string) => string): RoutingSections | { error: string } {
  const peers = file.peers ?? []
  const upstreams = file.upstreams ?? []
  const routes: RoutesSection = file.routes ?? { explicit: [], prefixes: [] }
  const peerIds = new Set<string>()
  for (const [i, peer] of peers.entries()) {
    if (peerIds.has(peer.id)) return { error: `/peers/${i}/id peer ${peer.id} is listed twice` }
    peerIds.add(peer.id)
  }
  const upstreamIds = new Set<string>()
  for (const [i, upstream] of upstreams.entries()) {
    if (upstreamIds.has(upstream.id)) return { error: `/upstreams/${i}/id upstream ${upstream.id} is listed twice` }
    if ((upstream.secretFile == null) === (upstream.secretEnv == null)) {
      return { error: `/upstreams/${i} upstream ${upstream.id} needs exactly one of secretFile or secretEnv (the secret itself is never written in the registry)` }
    }
    upstreamIds.add(upstream.id)
  }
  const undeclared = (to: RouteTo): string | undefined => {
    if ('peer' in to) return peerIds.has(to.peer) ? undefined : `no peer "${to.peer}" in /peers`
    return upstreamIds.has(to.upstream) ? undefined : `no upstream "${to.upstream}" in /upstreams`
  }
  const codes = new Set<string>()
  const claimCode = (code: string, at: string): string | undefined => {
    if (agencies.has(code)) return `${at} ${code} is an agency of this hub: a route to it would never be used`
    if (codes.has(code)) return `${at} ${code} is routed twice`
    codes.add(code)
    return undefined
  }
  const prefixes = new Set<string>()
  const claimPrefix = (prefix: string, at: string): string | undefined => {
    try {
      parseRoutePattern(prefix)
    } catch (err) {
      return `${at} ${(err as Error).message}`
    }
    if (prefixes.has(prefix)) return `${at} prefix ${prefix} is routed twice`
    prefixes.add(prefix)
    return undefined
  }
  for (const [i, entry] of routes.explicit.entries()) {
    const target = undeclared(entry.to)
    if (target != null) return { error: `/routes/explicit/${i}/to ${target}` }
    const problem = claimCode(entry.code, `/routes/explicit/${i}/code`)
    if (problem != null) return { error: problem }
  }
  for (const [i, entry] of routes.prefixes.entries()) {
    const target = undeclared(entry.to)
    if (target != null) return { error: `/routes/prefixes/${i}/to ${target}` }
    const problem = claimPrefix(entry.prefix, `/routes/prefixes/${i}/prefix`)
    if (problem != null) return { error: problem }
  }
  if (routes.default != null) {
    const problem = undeclared(routes.default)
    if (problem != null) return { error: `/routes/default ${problem}` }
  }
  for (const [i, peer] of peers.entries()) {
    for (const [j, code] of peer.agencies.entries()) {
      const problem = claimCode(code, `/peers/${i}/agencies/${j}`)
      if (problem != null) return { error: problem }
    }
    for (const [j, prefix] of peer.prefixes.entries()) {
      const problem = claimPrefix(prefix, `/peers/${i}/prefixes/${j}`)
      if (problem != null) return { error: problem }
    }
  }
  return {
    peers: peers.map((p) => ({
      ...p,
      serverCertificates: p.serverCertificates.map(normalise),
      clientCertificates: p.clientCertificates.map(normalise),
      signingCertificates: p.signingCertificates.map(normalise)
    })),
    upstreams,
    routes
  }
}
