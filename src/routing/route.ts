/**
 * Where a recipient code leads from this hub (issue 13). Resolved at acceptance, stored on the
 * delivery row, so a recipient nobody can reach is refused to the sender at once instead of
 * failing later.
 *
 * - local: an agency registered on this hub (push or pull, per the registry).
 * - peer: another lienthong hub that serves the code (explicit entry, prefix rule or its signed
 *   directory); the original signed bytes are forwarded to it over mTLS.
 * - upstream: an axis speaking the VDXP protocol (the national axis, or any hub's /vdxp API).
 */
export type RouteTarget =
  | { kind: 'local' }
  | { kind: 'peer', hubId: string }
  | { kind: 'upstream', upstreamId: string }

/**
 * How the route was found: shown to clerks and operators next to the delivery. `return`: a status
 * message going back to the peer hub its document was forwarded from (peer forwarding).
 */
export type RouteSource = 'agency' | 'explicit' | 'directory' | 'prefix' | 'default' | 'return'

export interface ResolvedRoute {
  target: RouteTarget
  source: RouteSource
  /** The rule that matched (the code itself, a prefix such as 'H98', or '*'). */
  rule: string
}

export type RouteKind = RouteTarget['kind']

/** A target other than this hub: what a peer or upstream route leads to. */
export type RemoteTarget = Exclude<RouteTarget, { kind: 'local' }>

/** The id of a remote target (a peer hub id or an upstream id), as stored on the delivery row. */
export function targetId (target: RemoteTarget): string {
  return target.kind === 'peer' ? target.hubId : target.upstreamId
}

/** `peer:hub-h98`, `upstream:national-axis`, `local`: how a target is written in the CLI and logs. */
export function describeTarget (target: RouteTarget): string {
  return target.kind === 'local' ? 'local' : `${target.kind}:${targetId(target)}`
}
