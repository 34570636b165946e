import { readFileSync, writeFileSync } from 'node:fs'
import { signEdxml } from '../src/signing/sign-document.js'
const P = 'certs-example/agencies/000.00.00.G22/'
for (const [alg, c14n, tpl, byId] of [['rsa-sha256', 'exc', 'document-one-recipient', false], ['rsa-sha512', 'c14n', 'document-root-id', true]] as const) {
  const out = signEdxml(readFileSync(`test/fixtures/templates/${tpl}.edxml`, 'utf8'), { privateKeyPem: readFileSync(P + 'key.pem', 'utf8'), certificatePem: readFileSync(P + 'cert.pem', 'utf8') + readFileSync(P + 'chain.pem', 'utf8'), algorithm: alg, canonicalization: c14n, referenceById: byId })
  writeFileSync(`/tmp/ts/${alg}-${c14n}-${byId}.xml`, out)
}
