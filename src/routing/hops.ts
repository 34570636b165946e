import type { Hop } from '../domain/hop.js'

/**
 * The hop list a forwarded document carries between lienthong hubs (issue 13): which hubs it went
 * through and when each accepted it, in order. It travels in the `Lienthong-Hops` header, never in
 * the document: the sender's signature covers every byte of the edXML, so nothing may be appended
 * to its TraceHeaderList on the way.
 *
 * Wire form: `hub-1;2026-05-01T10:00:00.000Z, hub-2;2026-05-01T10:00:01.250Z` (hub id, `;`, RFC
 * 3339 UTC time with milliseconds; entries separated by commas, oldest first).
 */
export const HOPS_HEADER = 'lienthong-hops'

/** Hops a document may have travelled before a hub refuses it (a misrouted ring stops here). */
export const DEFAULT_HOP_LIMIT = 8

/** Longest header we read: 64 hops of a 63-character id and a 24-character time, with slack. */
const MAX_HEADER_LENGTH = 8192

export type { Hop }

const HUB_ID = /^[a-z0-9][a-z0-9.-]{0,62}$/
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/

export type HopsParse = { ok: true, hops: Hop[] } | { ok: false, detail: string }

/** Reads the header; absent or empty is an empty list (a forwarding hub always sends its own hop). */
export function parseHops (header: string | string[] | undefined): HopsParse {
  // Node joins a repeated header with ", ", which is the list separator anyway.
  const text = Array.isArray(header) ? header.join(', ') : header ?? ''
  if (text.length > MAX_HEADER_LENGTH) return { ok: false, detail: `the ${HOPS_HEADER} header is longer than ${MAX_HEADER_LENGTH} characters` }
  if (text.trim() === '') return { ok: true, hops: [] }
  const hops: Hop[] = []
  for (const part of text.split(',')) {
    const entry = part.trim()
    const [hub, at, ...rest] = entry.split(';').map((s) => s.trim())
    if (hub == null || at == null || rest.length > 0 || !HUB_ID.test(hub) || !TIME.test(at) || Number.isNaN(Date.parse(at))) {
      return { ok: false, detail: `"${entry.slice(0, 100)}" is not a hop (hub-id;YYYY-MM-DDTHH:MM:SS.sssZ)` }
    }
    hops.push({ hub, at })
  }
  return { ok: true, hops }
}

export function formatHops (hops: readonly Hop[]): string {
  return hops.map((h) => `${h.hub};${h.at}`).join(', ')
}

export type HopCheck =
  | { ok: true }
  | { ok: false, code: 'HOP_LOOP' | 'HOP_LIMIT' | 'HOPS_INVALID', detail: string }

/**
 * How far apart two hubs' clocks may be. A hop time is the forwarding hub's word (unsigned), so it
 * proves nothing; what it must not do is lie in a way that misleads the trail: a time in the future,
 * or a journey running backwards, beyond this skew.
 */
export const HOP_CLOCK_SKEW_MS = 5 * 60_000

/**
 * Whether this hub may accept a document that travelled `hops`: never twice (its own id already in
 * the list is a loop: routes that point back, 1 -> 2 -> 1; any hub named twice is a loop elsewhere
 * on the path, or a forged list), at most `limit` hops before it, and times that run forward and
 * are not in the future (both with HOP_CLOCK_SKEW_MS of slack).
 * The forwarding hub (the last entry) is checked by the caller against the authenticated peer.
 */
export function checkHops (hops: readonly Hop[], selfId: string, limit: number, now: number = Date.now()): HopCheck {
  if (hops.some((h) => h.hub === selfId)) {
    return { ok: false, code: 'HOP_LOOP', detail: `the document already went through this hub (${selfId}): ${formatHops(hops)}` }
  }
  const twice = hops.find((h, i) => hops.findIndex((o) => o.hub === h.hub) !== i)
  if (twice != null) {
    return { ok: false, code: 'HOP_LOOP', detail: `the hop list names ${twice.hub} twice: a loop before this hub, or a forged list (${formatHops(hops).slice(0, 500)})` }
  }
  if (hops.length >= limit) {
    return { ok: false, code: 'HOP_LIMIT', detail: `the document went through ${hops.length} hubs already; this hub accepts at most ${limit} before it (${formatHops(hops)})` }
  }
  let previous = -Infinity
  for (const hop of hops) {
    const at = Date.parse(hop.at)
    if (at > now + HOP_CLOCK_SKEW_MS) return { ok: false, code: 'HOPS_INVALID', detail: `hop ${hop.hub} is dated ${hop.at}, in the future of this hub's clock (${new Date(now).toISOString()})` }
    if (at < previous - HOP_CLOCK_SKEW_MS) return { ok: false, code: 'HOPS_INVALID', detail: `hop ${hop.hub} is dated ${hop.at}, before the hop it follows: the list runs backwards` }
    previous = Math.max(previous, at)
  }
  return { ok: true }
}

/** The list a forwarding hub sends: the hops it received with, then itself at its acceptance. */
export function appendHop (hops: readonly Hop[], selfId: string, acceptedAt: Date): Hop[] {
  return [...hops, { hub: selfId, at: acceptedAt.toISOString() }]
}
