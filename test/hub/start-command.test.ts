import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURES } from '../helpers/example-pki.js'
import { lienthongEnv, spawnLienthong } from '../helpers/hub-process.js'

// What the README promises: `npm start` brings up a hub on the embedded database with the demo
// registry and PKI; a signed document POSTed with a demo key is accepted. A real process, real
// HTTP, real Redis, real PGlite.
t.test('lienthong start: a newcomer submits a signed document to a running hub', async (t) => {
  const dataDir = t.testdir()
  // No DATABASE_URL: the embedded database.
  const hub = spawnLienthong(t, 'start', lienthongEnv({
    LIENTHONG_PORT: '0',
    LIENTHONG_DATA_DIR: dataDir,
    LIENTHONG_QUEUE_PREFIX: `{lt-start-${process.pid}}`,
    LIENTHONG_LOG_LEVEL: 'warn',
    LIENTHONG_VERIFY_THREADS: '1'
  }))
  await hub.waitForOutput(/demo-api-keys\.json/, 60_000)
  const stdout = hub.stdout
  t.match(stdout, /lienthong start: listening on http:\/\/127\.0\.0\.1:\d+/, `started (stderr: ${hub.stderr.slice(0, 500)})`)
  const url = (/listening on (\S+)/.exec(stdout) as RegExpExecArray)[1] as string
  const key = (/000\.00\.00\.G22\s+(lt_\S+)/.exec(stdout) as RegExpExecArray)[1] as string
  t.ok(key, 'a demo API key is printed')
  t.equal(JSON.parse(readFileSync(join(dataDir, 'demo-api-keys.json'), 'utf8'))['000.00.00.G22'], key, 'and kept for the next start')

  const res = await fetch(`${url}/v1/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` },
    body: readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'))
  })
  t.equal(res.status, 202)
  const body = await res.json() as { id: string, receipt: string }
  t.match(body.receipt, /<Receipt xmlns="urn:lienthong:receipt:1" kind="acceptance"/)
  t.equal(res.headers.get('location'), `/v1/documents/${body.id}`)
  t.ok(res.headers.get('x-request-id'), 'request id echoed')

  const ready = await fetch(`${url}/health/ready`)
  const readiness = await ready.json() as { status: string, checks: Record<string, { status: string }> }
  t.equal(ready.status, 200, JSON.stringify(readiness))
  t.equal(readiness.checks.database?.status, 'ok')
  t.equal(readiness.checks.revocationData?.status, 'ok', 'CRLs fresh')
  t.equal(readiness.checks.hubCertificate?.status, 'ok')
  t.equal(readiness.checks.redis?.status, 'ok')

  const bad = await fetch(`${url}/v1/documents`, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, body: 'not xml' })
  t.equal(bad.status, 400)
  t.equal(bad.headers.get('content-type'), 'application/problem+json; charset=utf-8')
  t.equal(((await bad.json()) as { code: string }).code, 'XML_MALFORMED')

  t.same(await hub.stop('SIGTERM', 60_000), { code: 0, signal: null }, 'stops cleanly on SIGTERM')
  t.notMatch(hub.stdout + hub.stderr, /lt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}.*"(authorization|key)"/, 'API keys never appear in log lines')
})

t.test('a configuration mistake is one clear message, not a stack trace', async (t) => {
  const hub = spawnLienthong(t, 'start', lienthongEnv({ LIENTHONG_PORT: 'eighty', LIENTHONG_REVOCATION: 'maybe', DATABASE_URL: 'mysql://x' }))
  t.same(await hub.waitForExit(60_000), { code: 2, signal: null })
  const stderr = hub.stderr
  t.match(stderr, /LIENTHONG_PORT=eighty: must be an integer/)
  t.match(stderr, /LIENTHONG_REVOCATION=maybe/)
  t.match(stderr, /DATABASE_URL: must start with postgres/)
  t.notMatch(stderr, /\n\s+at /, 'no stack trace')
})
