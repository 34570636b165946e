import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signEdxml, type Canonicalization, type SigningAlgorithm } from '../../src/signing/sign-document.js'
import { EDXML_NS } from '../../src/edxml/namespaces.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'

// What our signer produces must verify with an independent implementation (xmlsec1, libxml2 +
// OpenSSL), with certificate-path checking on, and a tampered copy must not.

const G22 = join(PKI, 'agencies', '000.00.00.G22')
const KEY = readFileSync(join(G22, 'key.pem'), 'utf8')
const CERT_AND_CHAIN = readFileSync(join(G22, 'cert.pem'), 'utf8') + readFileSync(join(G22, 'chain.pem'), 'utf8')
const TRUSTED_ROOT = join(PKI, 'trust', 'root-ca.pem')
const UNTRUSTED_ROOT = join(PKI, 'special', 'untrusted', 'root-ca.pem')
const ISSUING_CA = join(PKI, 'trust', 'issuing-ca.pem')
const SUBJECT = 'V/v triển khai kết nối liên thông văn bản điện tử năm 2027'

/** xmlsec1 --verify with x509 key data only (no key taken on trust from the document). */
function xmlsec1Verify (file: string, trustedRoot: string): { status: number | null, output: string } {
  const res = spawnSync('xmlsec1', ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', trustedRoot, '--untrusted-pem', ISSUING_CA,
    '--id-attr:Id', `${EDXML_NS}:edXML`, file], { encoding: 'utf8', timeout: 20_000 })
  return { status: res.status, output: `${res.stdout}${res.stderr}`.trim() }
}

function sign (template: string, algorithm: SigningAlgorithm, canonicalization: Canonicalization, referenceById: boolean): string {
  return signEdxml(readFileSync(join(FIXTURES, 'templates', template), 'utf8'), { privateKeyPem: KEY, certificatePem: CERT_AND_CHAIN, algorithm, canonicalization, referenceById })
}

const ALGORITHMS: { alg: SigningAlgorithm, uri: string }[] = [
  { alg: 'rsa-sha256', uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' },
  { alg: 'rsa-sha512', uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512' }
]
const C14NS: { c14n: Canonicalization, uri: string }[] = [
  { c14n: 'exc', uri: 'http://www.w3.org/2001/10/xml-exc-c14n#' },
  { c14n: 'c14n', uri: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315' }
]
const REFERENCES = [
  { name: 'URI=""', template: 'document-one-recipient.edxml', byId: false, uri: 'URI=""' },
  { name: 'URI="#edxml-1236"', template: 'document-root-id.edxml', byId: true, uri: 'URI="#edxml-1236"' }
]

function registerTests (): void {
  const dir = t.testdir()
  for (const { alg, uri: algUri } of ALGORITHMS) {
    for (const { c14n, uri: c14nUri } of C14NS) {
      for (const ref of REFERENCES) {
        const name = `${alg} ${c14n} ${ref.name}`
        t.test(name, async (t) => {
          const signed = sign(ref.template, alg, c14n, ref.byId)
          // The table really varies what it says it varies.
          t.match(signed, `<SignatureMethod Algorithm="${algUri}"/>`, 'signature algorithm')
          t.match(signed, `<CanonicalizationMethod Algorithm="${c14nUri}"/>`, 'SignedInfo canonicalization')
          t.match(signed, `<Reference ${ref.uri}>`, 'reference URI')

          const file = join(dir, `${alg}-${c14n}-${ref.byId ? 'id' : 'empty'}.edxml`)
          writeFileSync(file, signed)
          const ok = xmlsec1Verify(file, TRUSTED_ROOT)
          t.equal(ok.status, 0, `xmlsec1 accepts: ${ok.output}`)
          t.match(ok.output, /^OK$/m)

          const tampered = signed.replace(SUBJECT, SUBJECT.replace('2027', '2028'))
          t.not(tampered, signed, 'the copy is tampered')
          const tamperedFile = file.replace(/\.edxml$/, '.tampered.edxml')
          writeFileSync(tamperedFile, tampered)
          const bad = xmlsec1Verify(tamperedFile, TRUSTED_ROOT)
          t.not(bad.status, 0, 'xmlsec1 refuses the tampered copy')
          t.equal(bad.status, 1, 'verification failure, not a usage error')
          t.match(bad.output, /^FAIL$/m)
          t.match(bad.output, /data and digest do not match/, 'refused on the reference digest')
        })
      }
    }
  }

  t.test('negative control: trusting only the untrusted root, xmlsec1 refuses a G22-signed document', async (t) => {
    const file = join(dir, 'control.edxml')
    writeFileSync(file, sign('document-one-recipient.edxml', 'rsa-sha256', 'exc', false))
    t.equal(xmlsec1Verify(file, TRUSTED_ROOT).status, 0, 'the same file verifies with the right anchor')
    const res = xmlsec1Verify(file, UNTRUSTED_ROOT)
    t.equal(res.status, 1, `xmlsec1 refuses: ${res.output}`)
    t.notMatch(res.output, /^OK$/m)
    t.match(res.output, /certificate verification failed.*unable to get local issuer certificate/, 'refused on the certificate path, not on the signature')
  })
}

const xmlsec1Found = spawnSync('xmlsec1', ['--version'], { encoding: 'utf8' })
if (xmlsec1Found.error != null || xmlsec1Found.status !== 0) {
  t.plan(0, 'xmlsec1 is not on PATH (Debian package xmlsec1): interop with xmlsec1 NOT tested')
} else {
  registerTests()
}
