import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { copyFileSync, readFileSync } from 'node:fs'
import { X509Certificate, randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI, childEnv, untracked } from '../helpers/cli.js'
import { FIXTURES, PKI, ROOT } from '../helpers/example-pki.js'

// `lienthong verify` over real processes: the CLI as an operator runs it, against the committed
// example PKI (certs-example/) and the signature corpus.

const TRUST = join(PKI, 'trust')
const REGISTRY = join(PKI, 'registry.json')
const valid = (name: string): string => join(FIXTURES, 'signatures', 'valid', name)
const invalid = (name: string): string => join(FIXTURES, 'signatures', 'invalid', name)

const ONE_RECIPIENT = valid('own-exc-rsa-sha256-one-recipient.edxml')
const MANY_RECIPIENTS = valid('xmlsec1-c14n-rsa-sha512-many-recipients.edxml')
const STATUS = valid('own-status-03-from-recipient.edxml')
const REVOKED = invalid('CERT_REVOKED.revoked-certificate.edxml')
const SENDER_MISMATCH = invalid('SENDER_MISMATCH.signed-with-another-agency-certificate.edxml')
const TOO_LARGE = invalid('PAYLOAD_TOO_LARGE.over-the-size-cap.edxml')

interface Run { code: number | null, signal: string | null, stdout: string, stderr: string }

/** Runs the CLI as a child process; never rejects (the exit code is what is under test). */
function lienthong (...args: string[]): Promise<Run> {
  // The defaults of --trust/--registry come from these variables: keep the caller's out.
  const env = childEnv()
  delete env.LIENTHONG_TRUST_DIR
  delete env.LIENTHONG_REGISTRY
  return new Promise((resolve) => {
    execFile(...untracked(process.execPath, [CLI, ...args]), { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, signal: err?.signal ?? null, stdout, stderr })
    })
  })
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '')
const verify = (...args: string[]): Promise<Run> => lienthong('verify', '--trust', TRUST, '--registry', REGISTRY, ...args)

/** What the CLI must print about a certificate, read independently from the PEM file. */
function expectedSigner (certFile: string, subject: string): object {
  const cert = new X509Certificate(readFileSync(certFile))
  return {
    subject,
    issuer: 'C=VN, O=Example PKI (NOT FOR PRODUCTION), CN=Example Government Issuing CA',
    serialNumber: cert.serialNumber.toLowerCase(),
    fingerprintSha256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    keyBits: 2048
  }
}

// A trust directory with both CA certificates and no CRL at all.
const noCrlTrust = t.testdir()
copyFileSync(join(TRUST, 'root-ca.pem'), join(noCrlTrust, 'root-ca.pem'))
copyFileSync(join(TRUST, 'issuing-ca.pem'), join(noCrlTrust, 'issuing-ca.pem'))
const missingTrust = join(tmpdir(), `lienthong-no-such-trust-${randomUUID()}`)

// Every process starts now and runs concurrently (each CLI start costs a few seconds); the
// subtests below await their own.
const runs = {
  allValid: verify(ONE_RECIPIENT, MANY_RECIPIENTS, STATUS),
  json: verify('--json', ONE_RECIPIENT, SENDER_MISMATCH),
  afterExpiry: verify('--at', '2040-01-01T00:00:00Z', ONE_RECIPIENT, REVOKED),
  noCrlBestEffort: lienthong('verify', '--trust', noCrlTrust, '--registry', REGISTRY, '--json', '--revocation', 'best-effort', ONE_RECIPIENT),
  noCrlRequire: lienthong('verify', '--trust', noCrlTrust, '--registry', REGISTRY, '--json', '--revocation', 'require', ONE_RECIPIENT),
  missingTrust: lienthong('verify', '--trust', missingTrust, '--registry', REGISTRY, ONE_RECIPIENT),
  badAt: verify('--at', 'next-tuesday', ONE_RECIPIENT),
  badMaxBytes: verify('--max-bytes', '4k', TOO_LARGE)
}

const G22_SUBJECT = 'C=VN, ST=Hà Nội, O=Văn phòng Chính phủ, CN=Văn phòng Chính phủ, UID=000.00.00.G22'
const G12_SUBJECT = 'C=VN, ST=Hà Nội, O=Bộ Tài chính, CN=Bộ Tài chính, UID=000.00.00.G12'
const ALGORITHMS_EXC_SHA256 = { canonicalization: 'exc-c14n', signature: 'rsa-sha256', digest: 'sha256', transforms: ['enveloped-signature', 'exc-c14n'] }

t.test('valid files: exit 0, one ACCEPTED line per file, in argument order', async (t) => {
  const run = await runs.allValid
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stderr, '')
  const out = lines(run.stdout)
  t.equal(out.length, 3)
  t.equal(out[0], `${ONE_RECIPIENT}: ACCEPTED document from 000.00.00.G22 to 000.00.00.G12, signed by ${G22_SUBJECT} (rsa-sha256)`)
  t.equal(out[1], `${MANY_RECIPIENTS}: ACCEPTED document from 000.00.00.G22 to 000.00.00.G12, 000.00.00.H41, 000.00.00.H29, signed by ${G22_SUBJECT} (rsa-sha512)`)
  t.equal(out[2], `${STATUS}: ACCEPTED status from 000.00.00.G12, signed by ${G12_SUBJECT} (rsa-sha256)`)
})

t.test('--json, a valid and an invalid file: exit 1, one JSON object per line with the exact verdict facts', async (t) => {
  const run = await runs.json
  t.equal(run.code, 1, run.stderr)
  const out = lines(run.stdout)
  t.equal(out.length, 2, 'one line per file')
  const [accepted, rejected] = out.map((l) => JSON.parse(l) as Record<string, unknown>)
  const pick = (o: Record<string, unknown> | undefined): object => {
    const { file, verdict, code, sender, recipients, signer, algorithms } = o ?? {}
    return { file, verdict, code, sender, recipients, signer, algorithms }
  }
  t.strictSame(pick(accepted), {
    file: ONE_RECIPIENT,
    verdict: 'accepted',
    code: null,
    sender: '000.00.00.G22',
    recipients: ['000.00.00.G12'],
    signer: expectedSigner(join(PKI, 'agencies', '000.00.00.G22', 'cert.pem'), G22_SUBJECT),
    algorithms: ALGORITHMS_EXC_SHA256
  })
  t.strictSame(accepted?.flags, [])
  t.match(accepted?.digestSha256, /^[0-9a-f]{64}$/)
  // The claimed sender is G22, the (valid, trusted) signer is G12's certificate.
  t.strictSame(pick(rejected), {
    file: SENDER_MISMATCH,
    verdict: 'rejected',
    code: 'SENDER_MISMATCH',
    sender: '000.00.00.G22',
    recipients: ['000.00.00.G12'],
    signer: expectedSigner(join(PKI, 'agencies', '000.00.00.G12', 'cert.pem'), G12_SUBJECT),
    algorithms: ALGORITHMS_EXC_SHA256
  })
  t.equal(rejected?.detail, `the certificate of ${G12_SUBJECT} is not registered to agency 000.00.00.G22`)
})

t.test('--at after the leaf expiry (human output): REJECTED CERT_EXPIRED for every file', async (t) => {
  const run = await runs.afterExpiry
  t.equal(run.code, 1, run.stderr)
  t.equal(run.stderr, '')
  const out = lines(run.stdout)
  t.equal(out.length, 2)
  // The revoked H41 certificate is also expired by then: expiry is what the path check reports.
  for (const [i, file] of [ONE_RECIPIENT, REVOKED].entries()) {
    t.equal(out[i], `${file}: REJECTED CERT_EXPIRED: a certificate in the signer chain is outside its validity period (certificate path: The certificate is either not yet valid or expired)`)
  }
})

t.test('--revocation with a trust dir without CRLs: best-effort accepts, require refuses', async (t) => {
  const table = [
    { mode: 'best-effort', run: runs.noCrlBestEffort, exit: 0, verdict: 'accepted', code: null },
    { mode: 'require', run: runs.noCrlRequire, exit: 1, verdict: 'rejected', code: 'REVOCATION_UNAVAILABLE' }
  ]
  for (const c of table) {
    const run = await c.run
    t.equal(run.code, c.exit, `${c.mode}: exit code ${run.stderr}`)
    const out = lines(run.stdout)
    t.equal(out.length, 1, `${c.mode}: one line`)
    const v = JSON.parse(out[0] ?? '{}') as { verdict?: string, code?: string | null }
    t.equal(v.verdict, c.verdict, `${c.mode}: verdict`)
    t.equal(v.code, c.code, `${c.mode}: code`)
  }
})

/** An operator error: exit 2, nothing on stdout, exactly one `lienthong: ...` line on stderr. */
function assertOperatorError (t: Test, run: Run, message: RegExp): void {
  t.equal(run.code, 2, 'exit code 2')
  t.equal(run.stdout, '', 'nothing on stdout')
  const err = lines(run.stderr)
  t.equal(err.length, 1, `exactly one line on stderr: ${JSON.stringify(run.stderr)}`)
  t.match(err[0], message)
  t.notMatch(run.stderr, /^\s+at /m, 'no stack trace')
}

t.test('missing trust dir: exit 2, one line on stderr, no stack trace', async (t) => {
  assertOperatorError(t, await runs.missingTrust, new RegExp(`^lienthong: cannot read trust store directory ${escape(missingTrust)}: ENOENT`))
})

// Operator mistakes that the CLI does not (yet) report as such (commander's own errors exit 1,
// the code for "a document was rejected").
t.test('--at that is not a date: exit 2', async (t) => {
  assertOperatorError(t, await runs.badAt, /next-tuesday/)
})

t.test('--max-bytes that is not a number: exit 2, never an unlimited size cap', async (t) => {
  assertOperatorError(t, await runs.badMaxBytes, /max-bytes/)
})

function escape (s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
