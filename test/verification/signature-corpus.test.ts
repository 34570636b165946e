import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SignedXml } from 'xml-crypto'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { REASON_CODES, isReasonCode } from '../../src/domain/reason-codes.js'
import type { VerificationPolicy } from '../../src/verification/verification-policy.js'
import { FIXTURES, PKI, examplePolicy } from '../helpers/example-pki.js'

const validDir = join(FIXTURES, 'signatures', 'valid')
const invalidDir = join(FIXTURES, 'signatures', 'invalid')

/** Cases that need a policy other than the default one over certs-example/. */
const POLICY_OVERRIDES: Record<string, Partial<VerificationPolicy> & { trustDir?: string }> = {
  'REVOCATION_UNAVAILABLE.stale-crl.edxml': { trustDir: join(PKI, 'special', 'stale-trust') },
  'PAYLOAD_TOO_LARGE.over-the-size-cap.edxml': { maxBytes: 4096 }
}

/** What the valid fixtures must yield, beyond being accepted. */
const EXPECTED_VALID: Record<string, { from: string, to: string[], kind?: 'document' | 'status', weak?: boolean }> = {
  'own-exc-rsa-sha256-one-recipient.edxml': { from: '000.00.00.G22', to: ['000.00.00.G12'] },
  'own-c14n-rsa-sha512-many-recipients.edxml': { from: '000.00.00.G22', to: ['000.00.00.G12', '000.00.00.H41', '000.00.00.H29'] },
  'own-uri-root-id.edxml': { from: '000.00.00.G22', to: ['000.00.00.G12'] },
  'own-status-03-from-recipient.edxml': { from: '000.00.00.G12', to: [], kind: 'status' },
  'own-sha1-agency-allows-weak.edxml': { from: '000.00.00.H41', to: ['000.00.00.G12'], weak: true },
  'own-subject-rule-binding.edxml': { from: '000.00.00.H29', to: ['000.00.00.G12', '000.00.00.H41', '000.00.00.H29'] },
  'own-comment-inside-signed-recipient.edxml': { from: '000.00.00.G22', to: ['000.00.00.G12'] },
  'xmlsec1-exc-rsa-sha256-one-recipient.edxml': { from: '000.00.00.G22', to: ['000.00.00.G12'] },
  'xmlsec1-c14n-rsa-sha512-many-recipients.edxml': { from: '000.00.00.G22', to: ['000.00.00.G12', '000.00.00.H41', '000.00.00.H29'] },
  'xmlsec1-exc-rsa-sha512-uri-root-id.edxml': { from: '000.00.00.G22', to: ['000.00.00.G12'] },
  'xmlsec1-c14n-rsa-sha256-status-03.edxml': { from: '000.00.00.G12', to: [], kind: 'status' }
}

t.test('valid corpus: every file is accepted with the signed envelope fields', async (t) => {
  const policy = await examplePolicy()
  const files = readdirSync(validDir).sort()
  t.same(files, Object.keys(EXPECTED_VALID).sort(), 'the table covers exactly the valid fixtures')
  for (const file of files) {
    const verdict = await verifyDocument(readFileSync(join(validDir, file)), policy)
    const expected = EXPECTED_VALID[file]!
    if (verdict.verdict !== 'accepted') {
      t.fail(`${file}: rejected ${verdict.code}: ${verdict.detail}`)
      continue
    }
    t.equal(verdict.envelope.from.organId, expected.from, `${file}: sender`)
    t.same(verdict.envelope.to.map((r) => r.organId), expected.to, `${file}: recipients`)
    t.equal(verdict.envelope.kind, expected.kind ?? 'document', `${file}: kind`)
    t.same(verdict.flags, expected.weak === true ? ['weak'] : [], `${file}: flags`)
    t.equal(verdict.agency, expected.from, `${file}: bound agency`)
    t.match(verdict.signer?.fingerprintSha256, /^[0-9a-f]{64}$/, `${file}: signer fingerprint`)
  }
})

t.test('invalid corpus: each file is rejected with exactly the code in its name', async (t) => {
  const files = readdirSync(invalidDir).sort()
  t.ok(files.length >= 30, 'the corpus covers the attack classes')
  for (const file of files) {
    const expected = file.split('.')[0] as string
    t.ok(isReasonCode(expected), `${file} is named after a reason code`)
    const verdict = await verifyDocument(readFileSync(join(invalidDir, file)), await examplePolicy(POLICY_OVERRIDES[file]))
    if (verdict.verdict === 'accepted') {
      t.fail(`${file}: accepted, expected ${expected}`)
      continue
    }
    t.equal(verdict.code, expected, `${file}: ${verdict.detail}`)
    t.match(verdict.digestSha256, /^[0-9a-f]{64}$/, `${file}: digest recorded`)
  }
})

t.test('every reason code is produced by at least one fixture', async (t) => {
  const produced = new Set(readdirSync(invalidDir).map((f) => f.split('.')[0]))
  for (const code of Object.keys(REASON_CODES)) t.ok(produced.has(code), `${code} has a fixture`)
})

t.test('differential: bare xml-crypto agrees on the crypto of the tampered and the genuine', async (t) => {
  // The corpus's tampered files must fail a plain xml-crypto check too, and the genuine ones
  // pass it: the pipeline's verdicts are not an artefact of our own structural checks.
  for (const [file, shouldPass] of [['valid/own-exc-rsa-sha256-one-recipient.edxml', true], ['valid/xmlsec1-c14n-rsa-sha512-many-recipients.edxml', true],
    ['invalid/DIGEST_MISMATCH.tampered-subject-in-header.edxml', false], ['invalid/DIGEST_MISMATCH.tampered-attachment-content.edxml', false],
    ['invalid/SIGNATURE_INVALID.tampered-signature-value.edxml', false]] as const) {
    const xml = readFileSync(join(FIXTURES, 'signatures', file), 'utf8')
    // All five are signed with G22's key (the tampered ones started as genuine G22 documents).
    const sig = new SignedXml({ publicCert: readFileSync(join(PKI, 'agencies', '000.00.00.G22', 'cert.pem'), 'utf8'), getCertFromKeyInfo: () => null })
    const { DOMParser } = await import('@xmldom/xmldom')
    const doc = new DOMParser().parseFromString(xml, 'text/xml')
    sig.loadSignature(sig.findSignatures(doc)[0] as Node)
    let ok: boolean
    try { ok = sig.checkSignature(xml) } catch { ok = false }
    t.equal(ok, shouldPass, file)
  }
})
