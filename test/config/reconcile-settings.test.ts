import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/config.js'

// The reconciler's two settings (src/queue/reconciler.ts): how often it runs, and how long an open
// push delivery must be untouched before a job found missing is re-added.

const cases: Array<{ env: Record<string, string>, intervalMs?: number, graceMs?: number, refused?: RegExp }> = [
  { env: {}, intervalMs: 5000, graceMs: 10_000 },
  { env: { LIENTHONG_RECONCILE_INTERVAL_MS: '500', LIENTHONG_RECONCILE_GRACE_MS: '2000' }, intervalMs: 500, graceMs: 2000 },
  { env: { LIENTHONG_RECONCILE_GRACE_MS: '30000' }, intervalMs: 5000, graceMs: 30_000 },
  { env: { LIENTHONG_RECONCILE_GRACE_MS: '50' }, refused: /LIENTHONG_RECONCILE_GRACE_MS/ },
  { env: { LIENTHONG_RECONCILE_GRACE_MS: 'ten seconds' }, refused: /LIENTHONG_RECONCILE_GRACE_MS/ }
]

for (const c of cases) {
  t.test(JSON.stringify(c.env), async (t) => {
    if (c.refused != null) {
      t.throws(() => loadConfig(c.env), ConfigError)
      t.throws(() => loadConfig(c.env), c.refused, 'the problem names the setting')
      return
    }
    const config = loadConfig(c.env)
    t.equal(config.reconcileIntervalMs, c.intervalMs)
    t.equal(config.reconcileGraceMs, c.graceMs)
  })
}
