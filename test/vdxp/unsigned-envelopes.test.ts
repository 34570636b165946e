import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { readSignatureLogEntry } from '../../src/evidence/signature-log.js'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { insertVdxpSystem } from '../../src/store/vdxp-systems.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { sealSecret } from '../../src/vdxp/secret-box.js'
import { PKI, examplePolicy } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { unsignedXmlFromTo } from '../helpers/ops-fixtures.js'
import { VdxpClient } from '../helpers/vdxp-client.js'

// An unsigned envelope is refused unless the sender's registry entry says allowUnsignedEnvelopes,
// and even then only through the VDXP API; an accepted one is flagged in the signature log.
const ALLOWED = '000.00.00.H41'
const NOT_ALLOWED = '000.00.00.G22'
const B = '000.00.00.G12'

t.test('unsigned envelopes: only through VDXP, only for an agency the registry allows, flagged', async (t) => {
  const registry = JSON.parse(readFileSync(join(PKI, 'registry.json'), 'utf8')) as { agencies: Array<{ code: string, allowUnsignedEnvelopes?: boolean }> }
  for (const a of registry.agencies) if (a.code === ALLOWED) a.allowUnsignedEnvelopes = true
  const policy = await examplePolicy({ registry: AgencyRegistry.fromJson(registry, 'test registry') })
  const key = randomBytes(32)
  const hub = await testHub(t, { redisUrl: null, vdxpKey: key, verify: async (bytes, options) => await verifyDocument(bytes, policy, options ?? {}) })
  const secret = randomBytes(16).toString('hex')
  await insertVdxpSystem(hub.db, { systemId: 'sys', agencies: [ALLOWED, NOT_ALLOWED], sealed: sealSecret(key, 'sys', secret), allowDirectoryChanges: false, ipAllowList: [] })
  await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const client = new VdxpClient(`http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}/vdxp`, 'sys', secret)

  const refused = await client.sendEdoc(Buffer.from(unsignedXmlFromTo(NOT_ALLOWED, B, 9401)), { from: NOT_ALLOWED, servicetype: 'eDoc', messagetype: 'edoc' })
  t.match(refused.json, { status: 'FAIL', ErrorCode: '206', code: 'SIGNATURE_MISSING', DocId: '' }, 'an agency without the flag: refused')

  const unsigned = Buffer.from(unsignedXmlFromTo(ALLOWED, B, 9402))
  const v1 = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${hub.keys[ALLOWED]}`, 'content-type': 'application/xml' }, payload: unsigned })
  t.match([v1.statusCode, v1.json()], [422, { code: 'SIGNATURE_MISSING' }], 'the flag does not open /v1')

  const accepted = await client.sendEdoc(unsigned, { from: ALLOWED, servicetype: 'eDoc', messagetype: 'edoc' })
  t.match(accepted.json, { status: 'OK', ErrorCode: '0', DocId: /^[0-9a-f-]{36}$/ }, 'through VDXP, from the allowed agency: accepted')
  const { rows } = await hub.db.query<{ flags: string[], signature_log_id: string }>('SELECT flags, signature_log_id FROM documents WHERE id = $1', [accepted.json?.DocId])
  t.same(rows[0]?.flags, ['unsigned-envelope'], 'the document is flagged')
  const entry = await readSignatureLogEntry(hub.db, Number(rows[0]?.signature_log_id))
  t.match(entry, { verdict: 'accepted', flags: ['unsigned-envelope'], authenticatedAgency: ALLOWED, claimedAgency: ALLOWED })
  t.equal(entry?.signer, undefined, 'no signer is claimed')
  t.match(await verifySignatureLogChain(hub.db), { ok: true })
  const list = await new VdxpClient(`http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}/vdxp`, 'sys', secret).callWithoutBody('getSentEdocList', { docId: accepted.json?.DocId as string })
  t.match(list.json, { status: 'OK', data: [{ toCode: B, sendStatus: 'available' }] }, 'delivered like any other document')
})
