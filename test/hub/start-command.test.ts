import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURES, ROOT } from '../helpers/example-pki.js'

// What the README promises: `npm start` brings up a hub on the embedded database with the demo
// registry and PKI; a signed document POSTed with a demo key is accepted. A real process, real
// HTTP, real Redis, real PGlite.
t.test('lienthong start: a newcomer submits a signed document to a running hub', async (t) => {
  const dataDir = t.testdir()
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      LIENTHONG_PORT: '0',
      LIENTHONG_DATA_DIR: dataDir,
      LIENTHONG_QUEUE_PREFIX: `{lt-start-${process.pid}}`,
      LIENTHONG_LOG_LEVEL: 'warn',
      LIENTHONG_VERIFY_THREADS: '1',
      DATABASE_URL: ''
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.teardown(() => { if (child.exitCode == null) child.kill('SIGKILL') })

  for (let i = 0; i < 600 && !/demo-api-keys\.json/.test(stdout) && child.exitCode == null; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.match(stdout, /lienthong start: listening on http:\/\/127\.0\.0\.1:\d+/, `started (stderr: ${stderr.slice(0, 500)})`)
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

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'stops cleanly on SIGTERM')
  t.notMatch(stdout + stderr, /lt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}.*"(authorization|key)"/, 'API keys never appear in log lines')
})

t.test('a configuration mistake is one clear message, not a stack trace', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, LIENTHONG_PORT: 'eighty', LIENTHONG_REVOCATION: 'maybe', DATABASE_URL: 'mysql://x' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.equal(code, 2)
  t.match(stderr, /LIENTHONG_PORT=eighty: must be an integer/)
  t.match(stderr, /LIENTHONG_REVOCATION=maybe/)
  t.match(stderr, /DATABASE_URL: must start with postgres/)
  t.notMatch(stderr, /\n\s+at /, 'no stack trace')
})
