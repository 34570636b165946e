import { execFile, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { EDXML_NS } from '../../../src/edxml/namespaces.js'
import { PKI } from '../../helpers/example-pki.js'

// xmlsec1 (libxml2 + OpenSSL, Debian package xmlsec1) as the side-by-side oracle: the same
// invocation as test/interop/xmlsec1-roundtrip.test.ts, certificate-path checking on, no key
// taken on trust from the document.

export const TRUSTED_ROOT = join(PKI, 'trust', 'root-ca.pem')
export const ISSUING_CA = join(PKI, 'trust', 'issuing-ca.pem')
export const G22_DIR = join(PKI, 'agencies', '000.00.00.G22')

export type Xmlsec1Verdict = 'accepts' | 'rejects'

export interface Xmlsec1Result { verdict: Xmlsec1Verdict, status: number | null, output: string }

export function xmlsec1Available (): boolean {
  const found = spawnSync('xmlsec1', ['--version'], { encoding: 'utf8' })
  return found.error == null && found.status === 0
}

const verifyArgs = (file: string): string[] => ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', TRUSTED_ROOT, '--untrusted-pem', ISSUING_CA,
  '--id-attr:Id', `${EDXML_NS}:edXML`, file]

const judged = (status: number | null, output: string): Xmlsec1Result =>
  ({ verdict: status === 0 && /^OK$/m.test(output) ? 'accepts' : 'rejects', status, output: output.trim() })

/** xmlsec1 --verify of `bytes`, written to `file`. Exit status 0 and "OK" is acceptance. */
export function xmlsec1Verify (file: string, bytes: string | Buffer): Xmlsec1Result {
  writeFileSync(file, bytes)
  const res = spawnSync('xmlsec1', verifyArgs(file), { encoding: 'utf8', timeout: 20_000 })
  return judged(res.status, `${res.stdout}${res.stderr}`)
}

// Each xmlsec1 run costs a process start and OpenSSL setup: the cases run them side by side.
let running = 0
const waiting: (() => void)[] = []
const CONCURRENCY = Math.max(2, availableParallelism())

async function limited<T> (job: () => Promise<T>): Promise<T> {
  if (running >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  try {
    return await job()
  } finally {
    running--
    waiting.shift()?.()
  }
}

function run (args: string[]): Promise<{ status: number | null, output: string }> {
  return new Promise((resolve) => {
    execFile('xmlsec1', args, { encoding: 'utf8', timeout: 20_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err == null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ status, output: `${stdout}${stderr}${err != null && status == null ? String(err) : ''}` })
    })
  })
}

/** As xmlsec1Verify, run in the background (bounded concurrency); never rejects. */
export function xmlsec1VerifyLater (file: string, bytes: string | Buffer): Promise<Xmlsec1Result> {
  return limited(async () => {
    try {
      await writeFile(file, bytes)
      const res = await run(verifyArgs(file))
      return judged(res.status, res.output)
    } catch (err) {
      return judged(null, `could not run xmlsec1: ${String(err)}`)
    }
  })
}

export const C14N_URI = { exc: 'http://www.w3.org/2001/10/xml-exc-c14n#', c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315' } as const

/**
 * Signs an edXML document with xmlsec1 (a conforming signer) as G22, RSA-SHA256, Reference URI=""
 * with enveloped-signature + `c14n`, the skeleton where the standard puts it (after TraceHeaderList),
 * as test/fixtures/signatures/generate.ts does.
 */
export async function xmlsec1Sign (xml: string, c14n: keyof typeof C14N_URI): Promise<string> {
  const withSkeleton = withSignatureSkeleton(xml, c14n)
  return limited(async () => {
    const work = await mkdtemp(join(tmpdir(), 'lienthong-review-xmlsec-'))
    try {
      await writeFile(join(work, 'in.xml'), withSkeleton)
      const res = await run(['--sign', '--privkey-pem', `${join(G22_DIR, 'key.pem')},${join(G22_DIR, 'cert.pem')},${join(G22_DIR, 'chain.pem')}`,
        '--output', join(work, 'out.xml'), join(work, 'in.xml')])
      if (res.status !== 0) throw new Error(`xmlsec1 --sign failed: ${res.output}`)
      return await readFile(join(work, 'out.xml'), 'utf8')
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  })
}

function withSignatureSkeleton (xml: string, c14n: keyof typeof C14N_URI): string {
  const skeleton = '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>' +
    `<CanonicalizationMethod Algorithm="${C14N_URI[c14n]}"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    '<Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>' +
    `<Transform Algorithm="${C14N_URI[c14n]}"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference>` +
    '</SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>'
  const withSkeleton = xml.replace('</edXML:TraceHeaderList>', `</edXML:TraceHeaderList>\n      ${skeleton}`)
  if (withSkeleton === xml) throw new Error('xmlsec1Sign: no TraceHeaderList to put the signature after')
  return withSkeleton
}
