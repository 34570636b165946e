import t from 'tap'
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { X509Certificate } from 'node:crypto'
import { buildGateway } from '../../src/gateway/app.js'
import { registerClientCertificate } from '../../src/store/credentials.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'

const pem = (...p: string[]): Buffer => readFileSync(join(PKI, ...p))
const doc = (): Buffer => readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'))

function post (port: number, body: Buffer, client?: { cert: Buffer, key: Buffer }): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/v1/documents',
      method: 'POST',
      headers: { 'content-type': 'application/xml', 'content-length': String(body.length) },
      ca: pem('trust', 'root-ca.pem'),
      servername: 'localhost',
      ...(client ?? {})
    }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('HTTPS with TLS client certificates registered to an agency', async (t) => {
  const { db, context } = await testHub(t, { redisUrl: null })
  // The hub's TLS certificate has clientAuth; registered here as G22's system certificate.
  await registerClientCertificate(db, '000.00.00.G22', new X509Certificate(pem('hub', 'tls-cert.pem')).fingerprint256, 'G22 document system')
  const app = await buildGateway(context, {
    https: { key: pem('hub', 'tls-key.pem'), cert: Buffer.concat([pem('hub', 'tls-cert.pem'), pem('trust', 'issuing-ca.pem')]), ca: [pem('trust', 'root-ca.pem'), pem('trust', 'issuing-ca.pem')], requestCert: true, rejectUnauthorized: false }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => { await app.close() })
  const port = (app.server.address() as { port: number }).port

  const accepted = await post(port, doc(), { cert: pem('hub', 'tls-cert.pem'), key: pem('hub', 'tls-key.pem') })
  t.equal(accepted.status, 202, 'a registered client certificate authenticates the agency')
  const anonymous = await post(port, doc())
  t.equal(anonymous.status, 401, 'no certificate, no key: refused')
  t.equal(JSON.parse(anonymous.body).code, 'UNAUTHENTICATED')
  // A certificate that chains to the client CA but is registered to nobody.
  const stranger = await post(port, doc(), { cert: pem('agencies', '000.00.00.G12', 'cert.pem'), key: pem('agencies', '000.00.00.G12', 'key.pem') })
  t.equal(stranger.status, 401, 'an unregistered certificate is refused')
  // A certificate from an untrusted root is not "authorized" by TLS, whatever is registered.
  await registerClientCertificate(db, '000.00.00.G22', new X509Certificate(pem('special', 'untrusted', 'cert.pem')).fingerprint256)
  const untrusted = await post(port, doc(), { cert: pem('special', 'untrusted', 'cert.pem'), key: pem('special', 'untrusted', 'key.pem') })
  t.equal(untrusted.status, 401, 'a registered but untrusted certificate is refused')
})

t.test('rate limit per credential: 429 with a code, other credentials unaffected', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null, rateLimitPerMinute: 3 })
  const get = (agency: string) => app.inject({ url: '/v1/inbox', headers: { authorization: `Bearer ${keys[agency]}` } })
  for (let i = 0; i < 3; i++) t.equal((await get('000.00.00.G12')).statusCode, 200)
  const limited = await get('000.00.00.G12')
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.equal((await get('000.00.00.H41')).statusCode, 200, 'another agency still has its budget')
  t.equal((await app.inject({ url: '/health/live' })).statusCode, 200, 'health is never rate limited')
})

t.test('log lines carry the hub\'s request id (the client\'s beside it) and never the API key', async (t) => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(...chunk.toString().split('\n').filter(Boolean)); done() } })
  const { context, keys } = await testHub(t, { redisUrl: null })
  const app = await buildGateway(context, { logger: { level: 'info', stream: sink, redact: ['req.headers.authorization'] } })
  t.teardown(async () => { await app.close() })
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${keys['000.00.00.G22']}`, 'x-request-id': 'trace-123' }, payload: doc() })
  t.equal(res.statusCode, 202)
  const requestId = res.headers['x-request-id']
  t.match(requestId, /^[0-9a-f-]{36}$/, 'the request id is the hub\'s own (issue 9 F05)')
  t.equal(res.headers['x-client-request-id'], 'trace-123', 'the client\'s id is kept beside it')
  t.ok(lines.length >= 2, 'request and response are logged')
  for (const line of lines) {
    const entry = JSON.parse(line) as { reqId?: string, clientRequestId?: string }
    t.equal(entry.reqId, requestId, 'every line has the request id')
    t.notOk(line.includes(keys['000.00.00.G22']!), 'the API key is not in the log')
  }
})
