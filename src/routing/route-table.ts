import { parseRoutePattern } from '../domain/route-pattern.js'
import type { RemoteTarget, ResolvedRoute } from './route.js'

/**
 * What the signed directory knows (src/routing, the directory helper fills it): which peer hub
 * serves a code, from the peers' verified directories. Synchronous on purpose: the directory is
 * kept in memory (refreshed in the background), so resolving a recipient never waits on a peer.
 */
export interface DirectoryProvider {
  /** The id of the peer hub whose valid directory lists `code`, if any. */
  peerFor: (code: string) => string | undefined
}

export interface ExplicitRoute { code: string, target: RemoteTarget }
export interface PrefixRoute { prefix: string, target: RemoteTarget }

/** The operator's routing rules: from the registry file and the CLI (src/store/routes.ts). */
export interface RouteRules {
  explicit: readonly ExplicitRoute[]
  prefixes: readonly PrefixRoute[]
  default?: RemoteTarget | undefined
}

export interface RouteTableOptions {
  /** Whether `code` is an agency registered on this hub (checked first). */
  isLocal?: (code: string) => boolean
  directory?: DirectoryProvider
  /**
   * The configured peer hubs: a directory entry naming another hub is ignored (the hub could not
   * forward to it: no URL, no pinned certificate).
   */
  knownPeers?: ReadonlySet<string>
}

const LOCAL: ResolvedRoute = Object.freeze({ target: Object.freeze({ kind: 'local' as const }), source: 'agency' as const, rule: '' })

/**
 * Where a recipient code leads, in this order: a local agency > an explicit entry > the signed
 * directory > the longest prefix rule (route-pattern.ts) > the default route. Built once from the
 * rules, then read-only: a lookup is one Map probe per group on each side (a code has at most 5
 * groups), and the answers are shared frozen objects, so resolving allocates only the probe keys.
 * Later duplicates of an explicit code or a prefix are ignored (the store lists the CLI's rules
 * before the peers' `serves` lists, so an operator's explicit entry overrides a peer's claim).
 */
export class RouteTable {
  private readonly explicit = new Map<string, ResolvedRoute>()
  private readonly trailing = new Map<string, ResolvedRoute>()
  private readonly leading = new Map<string, ResolvedRoute>()
  private readonly fallback: ResolvedRoute | undefined
  private readonly directoryTargets = new Map<string, RemoteTarget>()

  constructor (rules: RouteRules, private readonly options: RouteTableOptions = {}) {
    for (const { code, target } of rules.explicit) {
      if (!this.explicit.has(code)) this.explicit.set(code, frozen({ target, source: 'explicit', rule: code }))
    }
    for (const { prefix, target } of rules.prefixes) {
      const pattern = parseRoutePattern(prefix)
      const map = pattern.side === 'trailing' ? this.trailing : this.leading
      if (!map.has(pattern.key)) map.set(pattern.key, frozen({ target, source: 'prefix', rule: prefix }))
    }
    this.fallback = rules.default != null ? frozen({ target: rules.default, source: 'default', rule: '*' }) : undefined
  }

  /** True when any rule beyond local agencies exists (a hub with none refuses unknown codes as before). */
  get hasRoutes (): boolean {
    return this.explicit.size + this.trailing.size + this.leading.size > 0 || this.fallback != null || this.options.directory != null
  }

  /** The route for `code`, or undefined when nothing leads there (the recipient is unroutable). */
  resolve (code: string): ResolvedRoute | undefined {
    if (this.options.isLocal?.(code) === true) return LOCAL
    return this.resolveRemote(code)
  }

  /** As resolve, for a code already known not to be a local agency (the accept path asks the database first). */
  resolveRemote (code: string): ResolvedRoute | undefined {
    const explicit = this.explicit.get(code)
    if (explicit != null) return explicit
    const peer = this.options.directory?.peerFor(code)
    if (peer != null && (this.options.knownPeers == null || this.options.knownPeers.has(peer))) {
      return { target: this.peerTarget(peer), source: 'directory', rule: code }
    }
    return this.longestPrefix(code) ?? this.fallback
  }

  private longestPrefix (code: string): ResolvedRoute | undefined {
    if (this.trailing.size === 0 && this.leading.size === 0) return undefined
    // Dot positions, left to right (a code has a handful of groups).
    const dots: number[] = []
    for (let i = code.indexOf('.'); i !== -1; i = code.indexOf('.', i + 1)) dots.push(i)
    const groups = dots.length + 1
    for (let k = groups; k >= 1; k--) {
      // The last k groups (the whole code for k = groups).
      const suffix = k === groups ? code : code.slice(dots[groups - 1 - k] as number + 1)
      const t = this.trailing.get(suffix)
      if (t != null) return t
      // The first k groups, when at least one group follows them.
      if (k < groups) {
        const l = this.leading.get(code.slice(0, dots[k - 1]))
        if (l != null) return l
      }
    }
    return undefined
  }

  private peerTarget (hubId: string): RemoteTarget {
    let target = this.directoryTargets.get(hubId)
    if (target == null) {
      target = Object.freeze({ kind: 'peer' as const, hubId })
      this.directoryTargets.set(hubId, target)
    }
    return target
  }
}

function frozen (route: ResolvedRoute): ResolvedRoute {
  Object.freeze(route.target)
  return Object.freeze(route)
}
