import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURES } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H41 = '000.00.00.H41'
const H29 = '000.00.00.H29'

t.test('a sender that polls learns of every delivery and failure from its receipt feed', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null })
  const as = (agency: string) => ({ authorization: `Bearer ${keys[agency]}` })
  const sent = await app.inject({
    method: 'POST',
    url: '/v1/documents',
    headers: { 'content-type': 'application/xml', ...as(G22) },
    payload: readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-c14n-rsa-sha512-many-recipients.edxml'))
  })
  t.equal(sent.statusCode, 202)
  const deliveryOf = (code: string): string => (sent.json().recipients as { code: string, deliveryId: string }[]).find((r) => r.code === code)!.deliveryId
  t.same((await app.inject({ url: '/v1/receipts', headers: as(G22) })).json(), { items: [], next: null }, 'nothing yet')

  t.equal((await app.inject({ method: 'POST', url: `/v1/inbox/${deliveryOf(G12)}/ack`, headers: as(G12), payload: { result: 'done' } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: `/v1/inbox/${deliveryOf(H41)}/ack`, headers: as(H41), payload: { result: 'fail', reason: 'tệp đính kèm hỏng' } })).statusCode, 200)

  const first = (await app.inject({ url: '/v1/receipts?limit=1', headers: as(G22) })).json()
  t.equal(first.items.length, 1)
  t.same([first.items[0].kind, first.items[0].recipient, first.items[0].deliveryId], ['delivery', G12, deliveryOf(G12)])
  t.type(first.next, 'string')
  const second = (await app.inject({ url: `/v1/receipts?limit=1&after=${first.next as string}`, headers: as(G22) })).json()
  t.same([second.items[0].kind, second.items[0].recipient], ['failure', H41])
  t.equal(second.next, null, 'no more pages')

  const xml = await app.inject({ url: `/v1/receipts/${second.items[0].receiptId as string}`, headers: as(G22) })
  t.equal(xml.statusCode, 200)
  t.match(xml.body, /<Receipt xmlns="urn:lienthong:receipt:1" kind="failure"/)
  t.match(xml.body, /tệp đính kèm hỏng/)
  t.equal((await app.inject({ url: `/v1/receipts/${first.items[0].receiptId as string}`, headers: as(G12) })).statusCode, 200, 'the recipient named may read it')
  t.equal((await app.inject({ url: `/v1/receipts/${first.items[0].receiptId as string}`, headers: as(H29) })).statusCode, 404, 'nobody else')
  t.same((await app.inject({ url: '/v1/receipts', headers: as(G12) })).json().items, [], 'a recipient\'s feed holds only what it sent')
  t.equal((await app.inject({ url: '/v1/receipts?after=bogus', headers: as(G22) })).statusCode, 400)
})
