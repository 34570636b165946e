import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { FIXTURES, PKI, examplePolicy } from '../helpers/example-pki.js'

// "Exceptions instead of verdicts": a KeyInfo certificate whose notAfter does not parse decodes
// (OpenSSL says "Bad time value") and then made every date computation throw: the hub answered
// 500 without a signature-log entry and `lienthong verify` exited 2. It is a verdict now.
t.test('a signer certificate whose validity does not parse: CERT_MALFORMED, not an exception', async (t) => {
  const pem = readFileSync(join(PKI, 'agencies', '000.00.00.G22', 'cert.pem'), 'utf8')
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
  const utcTimes: number[] = []
  for (let i = 0; i < der.length - 15; i++) if (der[i] === 0x17 && der[i + 1] === 0x0d) utcTimes.push(i)
  t.equal(utcTimes.length, 2, 'the certificate has notBefore and notAfter as UTCTime')
  const broken = Buffer.from(der)
  broken.write('991332246060Z', (utcTimes[1] as number) + 2, 'latin1') // month 13, hour 24
  const good = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'), 'utf8')
  const xml = good.replace(/<X509Certificate>[^<]+</, `<X509Certificate>${broken.toString('base64')}<`)
  t.not(xml, good)
  const verdict = await verifyDocument(Buffer.from(xml), await examplePolicy())
  t.match(verdict, { verdict: 'rejected', code: 'CERT_MALFORMED', detail: /validity period that does not parse/ })
})
