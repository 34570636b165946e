import t from 'tap'
import { join } from 'node:path'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { examplePolicy } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { ourSign, replace, UNSIGNED } from '../verification/review/documents.js'
import { xmlsec1Available, xmlsec1VerifyLater } from '../verification/review/xmlsec1.js'

// Issue 15 outsider review, finding V2 (low-medium: routing ambiguity). F08 made the envelope
// singletons (MessageHeader, From, ...) unique wherever they hide, but To, ResponseFor and
// OrganId repeat legitimately and were only read where the grammar puts them. A sender could sign
// a second recipient the hub never routes to, inside an unknown wrapper, in no namespace, or under
// the edXML prefix rebound to another namespace: the hub delivered to G12 only while a recipient
// reading `//To` or the `edXML:` prefix (the real samples' readers do) sees H41 as a recipient too.
// xmlsec1 accepts every one of these signed documents: only the envelope rule can refuse them.

const TO = '<edXML:To>'
const G12_ORGAN = '<edXML:OrganId>000.00.00.G12</edXML:OrganId>'
const H41 = '000.00.00.H41'
const decoys: { name: string, make: (u: string) => string }[] = [
  { name: 'a second To inside an unknown edXML wrapper of MessageHeader', make: (u) => replace(u, TO, `<edXML:Extra><edXML:To><edXML:OrganId>${H41}</edXML:OrganId></edXML:To></edXML:Extra>${TO}`) },
  { name: 'a second To in no namespace', make: (u) => replace(u, TO, `<To xmlns=""><OrganId>${H41}</OrganId></To>${TO}`) },
  { name: 'a second To under the edXML prefix rebound to another namespace', make: (u) => replace(u, TO, `<edXML:To xmlns:edXML="urn:example:decoy"><edXML:OrganId>${H41}</edXML:OrganId></edXML:To>${TO}`) },
  { name: 'a To in the body', make: (u) => replace(u, '<edXML:edXMLManifest', `<edXML:To><edXML:OrganId>${H41}</edXML:OrganId></edXML:To><edXML:edXMLManifest`) },
  { name: 'a second OrganId in another namespace inside To', make: (u) => replace(u, G12_ORGAN, `${G12_ORGAN}<o:OrganId xmlns:o="urn:example:decoy">${H41}</o:OrganId>`) },
  { name: 'an OrganId under a rebound edXML prefix inside To', make: (u) => replace(u, G12_ORGAN, `<edXML:OrganId xmlns:edXML="urn:example:decoy">${H41}</edXML:OrganId>${G12_ORGAN}`) },
  { name: 'a ResponseFor inside an unknown wrapper', make: (u) => replace(u, TO, `<edXML:Extra><edXML:ResponseFor><edXML:OrganId>${H41}</edXML:OrganId><edXML:DocumentId>${H41},2026/11/20,1/UBND</edXML:DocumentId></edXML:ResponseFor></edXML:Extra>${TO}`) }
]

t.test('V2: a routing element where the envelope does not put it is ENVELOPE_AMBIGUOUS (xmlsec1 accepts the signature)', async (t) => {
  const policy = await examplePolicy()
  const dir = t.testdir()
  const haveXmlsec1 = xmlsec1Available()
  let n = 0
  for (const decoy of decoys) {
    const signed = Buffer.from(ourSign(decoy.make(UNSIGNED)))
    const verdict = await verifyDocument(signed, policy)
    t.match(verdict, { verdict: 'rejected', code: 'ENVELOPE_AMBIGUOUS' }, `${decoy.name} (signed)`)
    if (haveXmlsec1) t.equal((await xmlsec1VerifyLater(join(dir, `e${n++}.xml`), signed)).verdict, 'accepts', `${decoy.name}: xmlsec1 accepts the signature`)
  }
  t.match(await verifyDocument(Buffer.from(ourSign(UNSIGNED)), policy), { verdict: 'accepted', envelope: { to: [{ organId: '000.00.00.G12' }] } }, 'control: the undecorated document is accepted')
})

t.test('V2 over HTTP: the decoy recipient document is a problem, nothing is stored or delivered', async (t) => {
  const hub = await testHub(t)
  const signed = ourSign((decoys[0] as { make: (u: string) => string }).make(UNSIGNED))
  const res = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${hub.keys['000.00.00.G22']}`, 'content-type': 'application/xml' }, payload: signed })
  t.equal(res.statusCode, 422, `answer ${res.statusCode}`)
  t.match(res.json(), { code: 'ENVELOPE_AMBIGUOUS', signatureLogEntry: Number })
  const { rows } = await hub.db.query<{ n: string }>('SELECT count(*) AS n FROM documents')
  t.equal(Number(rows[0]?.n), 0, 'no document stored')
})
