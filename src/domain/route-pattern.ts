/**
 * Prefix rules over hierarchical agency codes (docs/agency-registry.md, "Routes").
 *
 * A code is up to 4 dot-separated groups, and its hierarchy reads from the LAST group towards
 * the first: in `000.00.31.H98` the entity is `H98` (a province), `31` a unit under it and so on
 * (domain.md: `000.00.00.H41` is the province's People's Committee, `000.00.11.H53` a sub-unit of
 * H53, short codes such as `G12` keep only the entity). So the rule written `H98` means "under
 * H98": every code whose trailing group is H98, and `31.H98` every code ending in the groups
 * `31.H98`. Codes that are not of this shape (tax ids, other schemes) can be grouped by their
 * LEADING groups instead, written with a trailing wildcard: `0201.*` matches `0201.x`, `0201.x.y`.
 * Matching is by whole groups, never by characters (`H9` does not match `H98`), and is exact in
 * letter case, like codes themselves.
 *
 * Longest match wins: the rule matching the most groups. On a tie a trailing rule wins over a
 * leading one (the hierarchy is the primary reading of a code). `*` alone is the default route.
 */
export type RoutePattern =
  | { side: 'trailing', groups: number, key: string }
  | { side: 'leading', groups: number, key: string }

const GROUP = /^[A-Za-z0-9]+$/
export const MAX_GROUPS = 5

/** Parses a prefix rule; throws a message naming what is wrong. */
export function parseRoutePattern (text: string): RoutePattern {
  if (text === '*') throw new Error('"*" is the default route, not a prefix rule')
  const leading = text.endsWith('.*')
  const body = leading ? text.slice(0, -2) : text
  const groups = body.split('.')
  if (groups.length > MAX_GROUPS - (leading ? 1 : 0) || !groups.every((g) => GROUP.test(g))) {
    throw new Error(`"${text}" is not a prefix rule: write trailing groups (H98, 31.H98) or leading groups with a wildcard (0201.*)`)
  }
  return { side: leading ? 'leading' : 'trailing', groups: groups.length, key: body }
}

/** Whether `pattern` (a parsed rule) matches `code`; the route table does the same with maps. */
export function patternMatches (pattern: RoutePattern, code: string): boolean {
  const groups = code.split('.')
  if (pattern.side === 'trailing') return groups.length >= pattern.groups && groups.slice(-pattern.groups).join('.') === pattern.key
  return groups.length > pattern.groups && groups.slice(0, pattern.groups).join('.') === pattern.key
}
