import t from 'tap'
import { parseRoutePattern, patternMatches } from '../../src/domain/route-pattern.js'
import { RouteTable, type RouteRules } from '../../src/routing/route-table.js'
import { describeTarget } from '../../src/routing/route.js'

const peer = (hubId: string) => ({ kind: 'peer' as const, hubId })
const upstream = (upstreamId: string) => ({ kind: 'upstream' as const, upstreamId })

const rules: RouteRules = {
  explicit: [
    { code: '000.00.00.G22', target: peer('hub-g22') },
    { code: '000.00.31.H98', target: peer('hub-special') },
    // A later duplicate is ignored (the store lists the CLI's rules first).
    { code: '000.00.00.G22', target: peer('hub-late') }
  ],
  prefixes: [
    { prefix: 'H98', target: peer('hub-h98') },
    { prefix: '31.H98', target: peer('hub-h98-unit31') },
    { prefix: 'G12', target: upstream('axis') },
    { prefix: '0201.*', target: peer('hub-tax') },
    { prefix: '0201.55.*', target: peer('hub-tax-55') },
    // Same group count as the trailing rule 00.H53 below: the trailing reading wins the tie.
    { prefix: '000.00.*', target: peer('hub-leading') },
    { prefix: '00.H53', target: peer('hub-h53') }
  ],
  default: upstream('national-axis')
}
const local = new Set(['000.00.00.H41', '000.00.00.G12'])
const directory = new Map([['000.00.77.H98', 'hub-dir'], ['000.00.00.X01', 'hub-unknown'], ['000.00.00.G22', 'hub-dir']])
const table = new RouteTable(rules, {
  isLocal: (code) => local.has(code),
  directory: { peerFor: (code) => directory.get(code) },
  knownPeers: new Set(['hub-g22', 'hub-special', 'hub-h98', 'hub-h98-unit31', 'hub-tax', 'hub-tax-55', 'hub-leading', 'hub-h53', 'hub-dir'])
})

const cases: Array<[code: string, expected: string, source: string, rule: string, why: string]> = [
  ['000.00.00.H41', 'local', 'agency', '', 'a local agency wins over everything'],
  ['000.00.00.G12', 'local', 'agency', '', 'local even though prefix G12 would lead upstream'],
  ['000.00.00.G22', 'peer:hub-g22', 'explicit', '000.00.00.G22', 'explicit beats the directory and the default; first entry wins'],
  ['000.00.31.H98', 'peer:hub-special', 'explicit', '000.00.31.H98', 'explicit beats a longer prefix'],
  ['000.00.77.H98', 'peer:hub-dir', 'directory', '000.00.77.H98', 'the directory beats prefix rules'],
  ['000.00.00.X01', 'peer:hub-leading', 'prefix', '000.00.*', 'a directory entry naming an unconfigured peer is ignored'],
  ['000.01.31.H98', 'peer:hub-h98-unit31', 'prefix', '31.H98', 'longest trailing prefix (2 groups) beats H98'],
  ['001.02.12.H98', 'peer:hub-h98', 'prefix', 'H98', 'trailing group: under province H98'],
  ['H98', 'peer:hub-h98', 'prefix', 'H98', 'the short code itself is under H98'],
  ['000.00.00.G12X', 'peer:hub-leading', 'prefix', '000.00.*', 'whole groups only: G12 does not match G12X'],
  ['G12', 'upstream:axis', 'prefix', 'G12', 'short code matched by its own group'],
  ['0201.99.7', 'peer:hub-tax', 'prefix', '0201.*', 'leading groups with a wildcard'],
  ['0201.55.7', 'peer:hub-tax-55', 'prefix', '0201.55.*', 'the longer leading rule wins'],
  ['0201', 'upstream:national-axis', 'default', '*', 'a leading rule needs at least one more group'],
  ['000.00.11.H53', 'peer:hub-leading', 'prefix', '000.00.*', 'the 2-group trailing rule 00.H53 does not match 11.H53; the 2-group leading rule does'],
  ['000.01.00.H53', 'peer:hub-h53', 'prefix', '00.H53', '00.H53 matches the last two groups'],
  ['000.00.00.H53', 'peer:hub-h53', 'prefix', '00.H53', 'a tie of 2 groups (00.H53 and 000.00.*): the trailing rule wins'],
  ['000.00.00.Z99', 'peer:hub-leading', 'prefix', '000.00.*', 'leading rule of 2 groups'],
  ['020100107370', 'upstream:national-axis', 'default', '*', 'a tax id nobody claims: the default'],
  ['h98', 'upstream:national-axis', 'default', '*', 'letter case is exact, like codes']
]

for (const [code, expected, source, rule, why] of cases) {
  t.test(`${code} -> ${expected} (${why})`, async (t) => {
    const route = table.resolve(code)
    t.ok(route, 'routable')
    t.equal(describeTarget(route!.target), expected)
    t.equal(route!.source, source)
    t.equal(route!.rule, source === 'agency' ? '' : rule)
  })
}

t.test('without a default, an unmatched code is unroutable; a table with no rules has no routes', async (t) => {
  const noDefault = new RouteTable({ explicit: [], prefixes: [{ prefix: 'H98', target: peer('p') }] })
  t.equal(noDefault.resolve('000.00.00.H41'), undefined)
  t.equal(noDefault.hasRoutes, true)
  const empty = new RouteTable({ explicit: [], prefixes: [] })
  t.equal(empty.hasRoutes, false)
  t.equal(empty.resolve('000.00.00.H41'), undefined)
  t.equal(new RouteTable({ explicit: [], prefixes: [] }, { directory: { peerFor: () => undefined } }).hasRoutes, true, 'a directory alone is routing')
})

t.test('prefix patterns: accepted and refused forms, and the reference matcher agrees with the table', async (t) => {
  const good: Array<[string, string, number]> = [['H98', 'trailing', 1], ['31.H98', 'trailing', 2], ['0201.*', 'leading', 1], ['a.b.c.d.*', 'leading', 4]]
  for (const [text, side, groups] of good) t.match(parseRoutePattern(text), { side, groups }, text)
  for (const bad of ['*', '', 'H98.', '.H98', 'H 98', '*.H98', 'a.b.c.d.e.*', 'H9*', 'a..b']) t.throws(() => parseRoutePattern(bad), `"${bad}" refused`)
  for (const [code, , source, rule] of cases) {
    if (source !== 'prefix') continue
    t.ok(patternMatches(parseRoutePattern(rule), code), `${rule} matches ${code}`)
  }
  t.notOk(patternMatches(parseRoutePattern('H9'), '000.00.00.H98'), 'never a character prefix')
})
