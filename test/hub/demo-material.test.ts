import t from 'tap'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/config.js'
import { DemoMaterialError, demoMaterialIn, refuseDemoMaterial } from '../../src/config/demo-material.js'
import { testDatabase } from '../helpers/database.js'
import { PKI } from '../helpers/example-pki.js'
import { databaseUrlOf, lienthongEnv, spawnLienthong, startLienthong } from '../helpers/hub-process.js'

// "Demo key material is the default in production" (issue 9): `serve` and `worker` with
// DATABASE_URL set and no LIENTHONG_HUB_KEY / LIENTHONG_TRUST_DIR / LIENTHONG_REGISTRY ran on the
// committed certs-example/ keys, whose private keys are public. They refuse now, unless
// LIENTHONG_DEMO=1 says this is a demo; `start` on the embedded database keeps working.

t.test('serve and worker on PostgreSQL refuse the demo key material without LIENTHONG_DEMO', async (t) => {
  const db = await testDatabase(t)
  for (const command of ['serve', 'worker'] as const) {
    const proc = spawnLienthong(t, command, lienthongEnv({ DATABASE_URL: databaseUrlOf(db), LIENTHONG_PORT: '0', LIENTHONG_DATA_DIR: t.testdir(), LIENTHONG_DEMO: '' }))
    t.same(await proc.waitForExit(60_000), { code: 2, signal: null }, `${command} exits 2`)
    t.match(proc.stderr, new RegExp(`lienthong ${command} refuses to run on the public demo key material of certs-example/`), `${command}: says why`)
    t.match(proc.stderr, /LIENTHONG_HUB_KEY=\S+certs-example\S+ is in certs-example\//, 'names the setting')
    t.match(proc.stderr, /LIENTHONG_DEMO=1/, 'and the way out for a demo')
    t.notMatch(proc.stderr, /\n\s+at /, 'no stack trace')
    t.notMatch(proc.stdout, /listening on/, 'never listened')
  }
})

t.test('with LIENTHONG_DEMO=1 serve runs on it; /metrics is closed on the API port and readiness shows no paths', async (t) => {
  const db = await testDatabase(t)
  const gateway = await startLienthong(t, 'serve', lienthongEnv({
    DATABASE_URL: databaseUrlOf(db),
    LIENTHONG_PORT: '0',
    LIENTHONG_DATA_DIR: t.testdir(),
    LIENTHONG_QUEUE_PREFIX: `{lt-demo-material-${process.pid}}`,
    LIENTHONG_VERIFY_THREADS: '1',
    LIENTHONG_LOG_LEVEL: 'warn',
    LIENTHONG_DEMO: '1'
  }))
  const metrics = await fetch(`${gateway.url}/metrics`)
  t.not(metrics.status, 200, `/metrics is not served by default (${metrics.status})`)
  t.notMatch(await metrics.text(), /lienthong_|process_/, 'no metric in the answer')
  const ready = await (await fetch(`${gateway.url}/health/ready`)).text()
  t.notMatch(ready, /certs-example|\/work\/|\.pem|"detail"/, 'readiness without the operator token: statuses only')
  t.match(ready, /"hubCertificate":\{"status":"ok"/)
  t.same(await gateway.stop('SIGTERM', 40_000), { code: 0, signal: null })
})

t.test('what counts as demo material: certs-example paths and copies of its private keys; start on the embedded database is never refused', async (t) => {
  const base = { DATABASE_URL: 'postgres://x@127.0.0.1/db' }
  t.ok(demoMaterialIn(loadConfig(base)).length >= 5, 'the defaults are all demo material')
  t.throws(() => refuseDemoMaterial(loadConfig(base), 'serve'), DemoMaterialError)
  t.throws(() => refuseDemoMaterial(loadConfig(base), 'worker'), DemoMaterialError)
  t.throws(() => refuseDemoMaterial(loadConfig(base), 'start'), DemoMaterialError, 'start on PostgreSQL is a real installation too')
  t.doesNotThrow(() => refuseDemoMaterial(loadConfig({}), 'start'), 'npm start (embedded database) keeps working')
  t.doesNotThrow(() => refuseDemoMaterial(loadConfig({ ...base, LIENTHONG_DEMO: '1' }), 'serve'), 'LIENTHONG_DEMO=1 allows it')
  t.throws(() => loadConfig({ LIENTHONG_DEMO: 'yes' }), /LIENTHONG_DEMO=yes: must be 1/)

  // Own material everywhere: nothing found.
  const dir = t.testdir()
  mkdirSync(join(dir, 'trust'))
  const own: Record<string, string> = { ...base, LIENTHONG_TRUST_DIR: join(dir, 'trust'), LIENTHONG_REGISTRY: join(dir, 'registry.json'), LIENTHONG_HUB_CHAIN: '', LIENTHONG_PUSH_SERVER_CA: '' }
  for (const [key, file] of [['LIENTHONG_HUB_KEY', 'hub-key.pem'], ['LIENTHONG_HUB_CERT', 'hub-cert.pem'], ['LIENTHONG_PUSH_CLIENT_CERT', 'push-cert.pem'], ['LIENTHONG_PUSH_CLIENT_KEY', 'push-key.pem']] as const) {
    writeFileSync(join(dir, file), `-----BEGIN PRIVATE KEY-----\n${key}\n-----END PRIVATE KEY-----\n`)
    own[key] = join(dir, file)
  }
  t.same(demoMaterialIn(loadConfig(own)), [], 'own files: no demo material')
  t.doesNotThrow(() => refuseDemoMaterial(loadConfig(own), 'serve'))
  // The demo hub key copied elsewhere (e.g. mounted as a secret) is still the demo key.
  copyFileSync(join(PKI, 'hub', 'signing-key.pem'), join(dir, 'hub-key.pem'))
  t.match(demoMaterialIn(loadConfig(own)), [/LIENTHONG_HUB_KEY=\S+ is a copy of a demo private key/])
  t.throws(() => refuseDemoMaterial(loadConfig(own), 'worker'), DemoMaterialError)
})
