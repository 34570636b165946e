import t from 'tap'
import { appendHop, checkHops, formatHops, parseHops, type Hop } from '../../src/routing/hops.js'

const T1 = '2026-05-01T10:00:00.000Z'
const T2 = '2026-05-01T10:00:01.250Z'
const NOW = Date.parse('2026-05-02T10:00:00.000Z')

t.test('parseHops reads the header or refuses it whole', async (t) => {
  const cases: Array<[string, string | string[] | undefined, Hop[] | 'refused']> = [
    ['absent', undefined, []],
    ['empty', '  ', []],
    ['one hop', `hub-1;${T1}`, [{ hub: 'hub-1', at: T1 }]],
    ['two hops with spaces', ` hub-1 ; ${T1} ,hub-2;${T2}`, [{ hub: 'hub-1', at: T1 }, { hub: 'hub-2', at: T2 }]],
    ['a repeated header is one list', [`hub-1;${T1}`, `hub-2;${T2}`], [{ hub: 'hub-1', at: T1 }, { hub: 'hub-2', at: T2 }]],
    ['time without milliseconds', 'hub.a;2026-05-01T10:00:00Z', [{ hub: 'hub.a', at: '2026-05-01T10:00:00Z' }]],
    ['missing time', 'hub-1', 'refused'],
    ['upper-case hub id', `Hub-1;${T1}`, 'refused'],
    ['local time', 'hub-1;2026-05-01T10:00:00+07:00', 'refused'],
    ['impossible date', 'hub-1;2026-13-45T10:00:00Z', 'refused'],
    ['third field', `hub-1;${T1};x`, 'refused'],
    ['empty entry', `hub-1;${T1},,hub-2;${T2}`, 'refused'],
    ['too long', `hub-1;${T1},`.repeat(400), 'refused']
  ]
  for (const [name, header, expected] of cases) {
    const parsed = parseHops(header)
    if (expected === 'refused') t.equal(parsed.ok, false, name)
    else t.same(parsed, { ok: true, hops: expected }, name)
  }
})

t.test('checkHops refuses loops and long journeys with their own codes', async (t) => {
  const hops = (...ids: string[]): Hop[] => ids.map((hub) => ({ hub, at: T1 }))
  const cases: Array<[string, Hop[], string, number, 'ok' | 'HOP_LOOP' | 'HOP_LIMIT' | 'HOPS_INVALID']> = [
    ['first hop', hops('hub-1'), 'hub-2', 8, 'ok'],
    ['transit', hops('hub-1', 'hub-2'), 'hub-3', 8, 'ok'],
    ['back to the origin', hops('hub-1', 'hub-2'), 'hub-1', 8, 'HOP_LOOP'],
    ['back to itself', hops('hub-2'), 'hub-2', 8, 'HOP_LOOP'],
    ['one under the limit', hops('a', 'b', 'c'), 'd', 4, 'ok'],
    ['at the limit', hops('a', 'b', 'c', 'd'), 'e', 4, 'HOP_LIMIT'],
    ['a loop is named before the limit', hops('a', 'b', 'c', 'd'), 'a', 4, 'HOP_LOOP'],
    ['another hub named twice (a loop before this hub, or a forged list)', hops('hub-1', 'hub-2', 'hub-1', 'hub-4'), 'hub-3', 8, 'HOP_LOOP'],
    ['a hop dated in the future', [{ hub: 'hub-1', at: T1 }, { hub: 'hub-2', at: new Date(NOW + 3_600_000).toISOString() }], 'hub-3', 8, 'HOPS_INVALID'],
    ['a hop a minute ahead (clock skew)', [{ hub: 'hub-2', at: new Date(NOW + 60_000).toISOString() }], 'hub-3', 8, 'ok'],
    ['a journey running backwards', [{ hub: 'hub-1', at: new Date(NOW - 60_000).toISOString() }, { hub: 'hub-2', at: T1 }], 'hub-3', 8, 'HOPS_INVALID']
  ]
  for (const [name, list, self, limit, expected] of cases) {
    const check = checkHops(list, self, limit, NOW)
    t.equal(check.ok ? 'ok' : check.code, expected, name)
  }
})

t.test('appendHop and formatHops round-trip through parseHops', async (t) => {
  const list = appendHop([{ hub: 'hub-1', at: T1 }], 'hub-2', new Date(T2))
  t.same(list, [{ hub: 'hub-1', at: T1 }, { hub: 'hub-2', at: T2 }])
  t.same(parseHops(formatHops(list)), { ok: true, hops: list })
})
