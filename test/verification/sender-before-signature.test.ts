import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { FIXTURES, examplePolicy } from '../helpers/example-pki.js'

// F02: the authenticated credential is compared with From/OrganId as soon as the envelope is
// read. A document "from" another agency is refused before the hub spends anything on
// certificates or signatures: a broken signature, an unknown certificate or 100,000 extra
// elements behind it change nothing about the answer.
const good = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'), 'utf8')

const cases: { name: string, xml: string }[] = [
  { name: 'a genuine document of G22', xml: good },
  { name: 'a signature value that would not verify', xml: good.replace(/<SignatureValue>[^<]+</, '<SignatureValue>AAAA<') },
  { name: 'a certificate that would not parse', xml: good.replace(/<X509Certificate>[^<]+</, '<X509Certificate>SGVsbG8=<') }
]

t.test('a credential of one agency submitting a document from another: SENDER_MISMATCH before signature work', async (t) => {
  const policy = await examplePolicy()
  for (const c of cases) {
    const verdict = await verifyDocument(Buffer.from(c.xml), policy, { expectedSender: '000.00.00.H41' })
    t.match(verdict, { verdict: 'rejected', code: 'SENDER_MISMATCH', detail: /authenticated as 000\.00\.00\.H41, but the document is from 000\.00\.00\.G22/ }, c.name)
    t.notOk('signer' in verdict && verdict.signer != null, `${c.name}: no certificate was looked at`)
  }
  const own = await verifyDocument(Buffer.from(good), policy, { expectedSender: '000.00.00.G22' })
  t.equal(own.verdict, 'accepted', 'control: the right credential is accepted')
})
