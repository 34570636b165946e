import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURES } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'

// F05 (issue 9): a Content-Length over the cap without credentials got 413 and a signature-log
// entry, with the client's X-Request-Id stored as the request id (16 threads wrote 2,593 entries
// in 10 s). Only authenticated attempts are evidence; request ids are the hub's own.

const G22 = '000.00.00.G22'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const bytes = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'))

t.test('413-sized request without credentials writes no signature-log entry', async (t) => {
  const { app, db } = await testHub(t, { redisUrl: null, maxBytes: 4096 })
  for (const authorization of [undefined, 'Bearer lt_nope_nope', `Bearer lt_000000000000_${'A'.repeat(43)}`, 'Basic Zm9vOmJhcg==']) {
    const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', ...(authorization != null ? { authorization } : {}) }, payload: bytes })
    t.equal(res.statusCode, 401, `${String(authorization)}: refused as unauthenticated`)
    t.equal(res.json().code, 'UNAUTHENTICATED')
    t.notOk('signatureLogEntry' in res.json(), 'no log entry named')
  }
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM signature_log')
  t.equal(rows[0]?.n, 0, 'nothing written to the signature log')
})

t.test('a long or odd client X-Request-Id is never stored as the request id', async (t) => {
  const { app, db, keys } = await testHub(t, { redisUrl: null, maxBytes: 4096 })
  const cases = [
    { given: 'a'.repeat(64), kept: true },
    { given: 'client.chosen-id_1', kept: true },
    { given: 'x'.repeat(65), kept: false },
    { given: 'id with spaces; and=odd', kept: false },
    { given: '../../etc/passwd', kept: false }
  ]
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${keys[G22]}`, 'x-request-id': c.given }, payload: bytes })
    t.equal(res.statusCode, 413, 'an authenticated attempt, logged')
    const entry = res.json<{ signatureLogEntry: number, requestId: string }>()
    const { rows } = await db.query<{ request_id: string }>('SELECT request_id FROM signature_log WHERE id = $1', [entry.signatureLogEntry])
    t.match(rows[0]?.request_id, UUID, `${c.given.slice(0, 20)}: the stored request id is the hub's own`)
    t.not(rows[0]?.request_id, c.given)
    t.equal(res.headers['x-request-id'], rows[0]?.request_id, 'the answer names the hub\'s id')
    t.equal(entry.requestId, rows[0]?.request_id)
    t.equal(res.headers['x-client-request-id'], c.kept ? c.given : undefined, c.kept ? 'a plain client id is kept beside it' : 'an odd client id is dropped')
  }
})
