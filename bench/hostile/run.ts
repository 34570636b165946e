/**
 * Cost of hostile inputs (issue F02/F07): a genuine signed document with N extra empty sibling
 * elements (the shape that made the old verifier quadratic: 0.4 MB -> 200 s), and deep nesting.
 * Measured in one run, on one machine, side by side:
 * - `verifyDocument`: the hub's verifier with its default limits (it refuses past 100,000
 *   elements or 64 levels, so the answer comes as soon as the bound is crossed);
 * - `pipeline, no limits`: the same parse, profile check and canonical digest with the element
 *   bound lifted, to show the work itself is linear (ns per byte stays flat as N grows);
 * - `xmlsec1 --verify` (libxml2, C) as the reference, process start-up included;
 * - the previous verifier's building blocks (xmldom + xml-crypto checkSignature), the baseline,
 *   only for the smaller N (it is quadratic: 20,000 siblings took seconds).
 *
 *   npm run bench:hostile            # writes the "Hostile inputs" section of docs/benchmarks.md
 *   npm run bench:hostile -- --quick # smaller sizes, prints only
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { DOMParser } from '@xmldom/xmldom'
import { SignedXml } from 'xml-crypto'
import { signEdxml } from '../../src/signing/sign-document.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { EDXML_SIGNATURE_PLACE } from '../../src/verification/xmldsig-steps.js'
import { digestReferencedContent } from '../../src/xmldsig/check-signature.js'
import { parseXml } from '../../src/xmldsig/parse.js'
import { readSignatureProfile } from '../../src/xmldsig/signature-profile.js'
import { writeMarkedSection } from '../docs-section.js'
import { FIXTURES, examplePolicy } from '../../test/helpers/example-pki.js'
import { G22, TRUST_DIR } from '../verify/fixtures.js'

const quick = process.argv.includes('--quick')
const DOC_PATH = new URL('../../docs/benchmarks.md', import.meta.url).pathname
const WIDE = quick ? [5_000, 20_000, 100_000] : [5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 400_000]
const BASELINE_MAX = quick ? 5_000 : 20_000
const DEEP_BYTES = quick ? [1 << 20] : [1 << 20, 3.5 * (1 << 20), 14 * (1 << 20)]

const log = (m: string): void => { process.stderr.write(`[bench/hostile] ${m}\n`) }

function timeMs (f: () => unknown, runs: number): number {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    f()
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] as number
}

async function timeAsyncMs (f: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    await f()
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] as number
}

const XMLSEC_TIMEOUT_MS = 60_000

/** Wall time of one `xmlsec1 --verify`, as text; libxml2 is slow on deep nesting, so it is cut at a minute. */
function xmlsecMs (file: string): string {
  const start = process.hrtime.bigint()
  const run = spawnSync('xmlsec1', ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', join(TRUST_DIR, 'root-ca.pem'), '--untrusted-pem', join(TRUST_DIR, 'issuing-ca.pem'), file], { encoding: 'utf8', timeout: XMLSEC_TIMEOUT_MS })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  return run.signal != null ? `> ${XMLSEC_TIMEOUT_MS / 1000} s (stopped)` : ms.toFixed(1)
}

function baselineMs (xml: string): number {
  return timeMs(() => {
    const doc = new DOMParser().parseFromString(xml, 'text/xml')
    const sig = new SignedXml({ publicCert: G22.certificatePem, getCertFromKeyInfo: () => null })
    const signature = sig.findSignatures(doc as unknown as Node)[0]
    if (signature == null) throw new Error('baseline: no signature')
    sig.loadSignature(signature)
    sig.checkSignature(xml)
  }, 1)
}

async function main (): Promise<void> {
  const policy = await examplePolicy()
  const template = readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8')
  const genuine = signEdxml(template, { privateKeyPem: G22.keyPem, certificatePem: G22.certificatePem + G22.chainPem })
  const dir = mkdtempSync(join(tmpdir(), 'lienthong-hostile-'))
  const rows: string[] = []
  try {
    for (const n of WIDE) {
      const xml = genuine.replace('<edXML:SteeringType>', `${'<b/>'.repeat(n)}<edXML:SteeringType>`)
      const bytes = Buffer.from(xml)
      const file = join(dir, `wide-${n}.edxml`)
      writeFileSync(file, xml)
      const verdict = await verifyDocument(bytes, policy)
      const code = verdict.verdict === 'rejected' ? verdict.code : 'accepted'
      const ours = await timeAsyncMs(async () => await verifyDocument(bytes, policy), 3)
      const pipeline = timeMs(() => {
        const doc = parseXml(bytes, { maxElements: Number.POSITIVE_INFINITY })
        digestReferencedContent(doc, readSignatureProfile(doc, false, EDXML_SIGNATURE_PLACE))
      }, 3)
      const xmlsec = xmlsecMs(file)
      const baseline = n <= BASELINE_MAX ? baselineMs(xml) : undefined
      log(`${n} siblings (${bytes.length} B): verifyDocument ${ours.toFixed(1)} ms ${code}; pipeline ${pipeline.toFixed(1)} ms; xmlsec1 ${xmlsec} ms; xml-crypto ${baseline?.toFixed(0) ?? '-'} ms`)
      rows.push(`| ${n.toLocaleString('en')} empty siblings | ${(bytes.length / 1024).toFixed(0)} KB | ${ours.toFixed(1)} (${code}) | ${pipeline.toFixed(1)} | ${(pipeline * 1e6 / bytes.length).toFixed(0)} | ${xmlsec} | ${baseline != null ? baseline.toFixed(0) : 'not run (quadratic)'} |`)
    }
    for (const size of DEEP_BYTES) {
      const levels = Math.floor(size / ('<edXML:X>'.length + '</edXML:X>'.length))
      const xml = genuine.replace('<edXML:SteeringType>', `${'<edXML:X>'.repeat(levels)}${'</edXML:X>'.repeat(levels)}<edXML:SteeringType>`)
      const bytes = Buffer.from(xml)
      const file = join(dir, `deep-${levels}.edxml`)
      writeFileSync(file, xml)
      const verdict = await verifyDocument(bytes, policy)
      const code = verdict.verdict === 'rejected' ? verdict.code : 'accepted'
      const ours = await timeAsyncMs(async () => await verifyDocument(bytes, policy), 3)
      const xmlsec = xmlsecMs(file)
      log(`${levels} levels (${bytes.length} B): verifyDocument ${ours.toFixed(1)} ms ${code}; xmlsec1 ${xmlsec} ms`)
      rows.push(`| ${levels.toLocaleString('en')} levels of nesting | ${(bytes.length / 1024 / 1024).toFixed(1)} MB | ${ours.toFixed(1)} (${code}) | - | - | ${xmlsec} | - |`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const section = [
    '## Hostile inputs (bench/hostile)',
    '',
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${(loadavg()[0] ?? 0).toFixed(2)} at the end; ${new Date().toISOString().slice(0, 10)}. Command: \`npm run bench:hostile\`.`,
    '',
    'A genuine signed 10 KB document with N empty `<b/>` siblings added after signing (the F02 shape) or deep nesting (F07). Times are medians in milliseconds for one document on one thread. "pipeline, no limits" is the parse, profile check and canonical digest with the element bound lifted: ns per byte stays flat, so the work is linear in the input. The baseline is the previous verifier\'s core (xmldom + xml-crypto `checkSignature`), measured in the same run.',
    '',
    '| input | size | verifyDocument (verdict) | pipeline, no limits | ns/byte | xmlsec1 --verify | xmldom + xml-crypto (baseline) |',
    '|---|---|---|---|---|---|---|',
    ...rows
  ].join('\n')
  process.stdout.write(`${section}\n`)
  if (!quick) writeMarkedSection(DOC_PATH, '<!-- bench/hostile:start -->', '<!-- bench/hostile:end -->', section)
}

await main()
