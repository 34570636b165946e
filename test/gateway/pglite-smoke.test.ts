import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { FIXTURES } from '../helpers/example-pki.js'
import { testPglite } from '../helpers/database.js'
import { testHub } from '../helpers/hub.js'

t.test('the accept path runs on embedded PGlite (the zero-setup default)', async (t) => {
  const db = await testPglite(t)
  const { app, keys } = await testHub(t, { db, redisUrl: null })
  const post = (file: string, agency: string) => app.inject({
    method: 'POST',
    url: '/v1/documents',
    headers: { 'content-type': 'application/xml', authorization: `Bearer ${keys[agency]}` },
    payload: readFileSync(join(FIXTURES, 'signatures', file))
  })
  const accepted = await post('valid/own-exc-rsa-sha256-one-recipient.edxml', '000.00.00.G22')
  t.equal(accepted.statusCode, 202)
  const rejected = await post('invalid/CERT_REVOKED.revoked-certificate.edxml', '000.00.00.H41')
  t.equal(rejected.json().code, 'CERT_REVOKED')
  const view = await app.inject({ url: `/v1/documents/${accepted.json().id}`, headers: { authorization: `Bearer ${keys['000.00.00.G12']}` } })
  t.equal(view.json().deliveries[0].state, 'available')
  const { rows } = await db.query<{ reason_code: string | null, cert_serial: string | null }>('SELECT reason_code, cert_serial FROM signature_log ORDER BY id')
  t.equal(rows.length, 2)
  t.ok(rows[1]?.cert_serial, 'the revoked certificate is named in the log')
  const chain = await verifySignatureLogChain(db)
  t.equal(chain.ok, true, 'chain intact')
})
