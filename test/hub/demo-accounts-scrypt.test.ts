import t from 'tap'
import { DEFAULT_SCRYPT } from '../../src/accounts/password-hash.js'
import { demoAccountsScrypt } from '../../src/hub/demo-accounts.js'
import { lienthongEnv, spawnLienthong } from '../helpers/hub-process.js'

// TEST_DEMO_SCRYPT_LOGN, the test-only cost of the demo accounts' password hashes: honoured only
// on a demo installation (LIENTHONG_DEMO=1), refused everywhere else, so that it can never weaken
// a real installation's hashes.

const cases: Array<{ name: string, value: string | undefined, demo: boolean, expect: number | RegExp }> = [
  { name: 'unset: the default cost', value: undefined, demo: true, expect: DEFAULT_SCRYPT.logN },
  { name: 'empty: the default cost', value: '', demo: false, expect: DEFAULT_SCRYPT.logN },
  { name: 'a demo: the given cost', value: '12', demo: true, expect: 12 },
  { name: 'not a demo: refused', value: '12', demo: false, expect: /refused without LIENTHONG_DEMO=1/ },
  { name: 'below 2^10: refused', value: '9', demo: true, expect: /must be an integer from 10 to 17/ },
  { name: 'above the default: refused', value: '18', demo: true, expect: /must be an integer from 10 to 17/ },
  { name: 'not an integer: refused', value: '12.5', demo: true, expect: /must be an integer/ }
]
for (const c of cases) {
  t.test(c.name, async (t) => {
    const env = c.value == null ? {} : { TEST_DEMO_SCRYPT_LOGN: c.value }
    if (typeof c.expect === 'number') t.same(demoAccountsScrypt(env, c.demo), { ...DEFAULT_SCRYPT, logN: c.expect })
    else t.throws(() => demoAccountsScrypt(env, c.demo), { name: 'TestScryptRefused', message: c.expect })
  })
}

t.test('lienthong start without LIENTHONG_DEMO=1 refuses the setting before it starts anything', async (t) => {
  const hub = spawnLienthong(t, 'start', lienthongEnv({ LIENTHONG_DEMO: '', TEST_DEMO_SCRYPT_LOGN: '12', LIENTHONG_DATA_DIR: t.testdir(), LIENTHONG_PORT: '0' }))
  t.same(await hub.waitForExit(120_000), { code: 2, signal: null }, hub.describe())
  t.match(hub.stderr, /TEST_DEMO_SCRYPT_LOGN is a test setting .* refused without LIENTHONG_DEMO=1/)
  t.notMatch(hub.stdout, /listening/, 'nothing started')
})
