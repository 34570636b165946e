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
 *   npm run bench:hostile                    # writes the "Hostile inputs" section of docs/benchmarks.md
 *   npm run bench:hostile -- --quick         # smaller sizes, prints only
 *   npm run bench:hostile -- --quick --write # smaller sizes, writes the section (it names the command)
 *
 * Times are CPU time (user + system) of this thread, or of the xmlsec1 process (/usr/bin/time):
 * on a shared machine wall time mostly measures the neighbours.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { DOMParser } from '@xmldom/xmldom'
import { SignedXml } from 'xml-crypto'
import { signEdxml } from '../../src/signing/sign-document.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { envelopeKeepPolicy } from '../../src/edxml/envelope-schema.js'
import { EnvelopeUniqueness } from '../../src/edxml/envelope-uniqueness.js'
import { EDXML_SIGNATURE_PLACE } from '../../src/verification/xmldsig-steps.js'
import { DEFAULT_PARSE_LIMITS, parseXml } from '../../src/xmldsig/parse.js'
import { HASH_OF, readSignatureProfile } from '../../src/xmldsig/signature-profile.js'
import {
  canonicalBudget, excludeFirstSignature, predictReferenceDigest, referenceDigest, referenceDigestSetting, StreamedDigest, type ReferenceDigestSetting
} from '../../src/xmldsig/stream-c14n.js'
import { writeMarkedSection } from '../docs-section.js'
import { FIXTURES, examplePolicy } from '../../test/helpers/example-pki.js'
import { G22, TRUST_DIR } from '../verify/fixtures.js'

const quick = process.argv.includes('--quick')
const DOC_PATH = new URL('../../docs/benchmarks.md', import.meta.url).pathname
const WIDE = quick ? [5_000, 20_000, 100_000] : [5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 400_000]
const BASELINE_MAX = quick ? 5_000 : 20_000
const DEEP_BYTES = quick ? [1 << 20] : [1 << 20, 3.5 * (1 << 20), 14 * (1 << 20)]

const log = (m: string): void => { process.stderr.write(`[bench/hostile] ${m}\n`) }

const write = !quick || process.argv.includes('--write')
const COMMAND = `npm run bench:hostile${quick ? ' -- --quick --write' : ''}`

const cpuMsSince = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

/** Median CPU milliseconds of `runs` calls. */
function timeMs (f: () => unknown, runs: number): number {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage()
    f()
    times.push(cpuMsSince(start))
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] as number
}

async function timeAsyncMs (f: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage()
    await f()
    times.push(cpuMsSince(start))
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] as number
}

/**
 * verifyDocument's one pass with the element bound lifted: the strict tokenizer, the kept parts
 * (envelope and signature), the uniqueness check and the streamed C14N digest, then the
 * signature profile and the Reference digest (no certificate, no RSA).
 */
function streamingPipeline (bytes: Buffer): void {
  const limits = { ...DEFAULT_PARSE_LIMITS, maxElements: Number.POSITIVE_INFINITY }
  const streamed = new StreamedDigest(predictReferenceDigest(bytes), excludeFirstSignature(), canonicalBudget(bytes.length))
  const doc = parseXml(bytes, { ...limits, processingInstructions: 'refuse', keep: envelopeKeepPolicy(new EnvelopeUniqueness().observe), also: streamed.canonicalizer })
  const profile = readSignatureProfile(doc, false, EDXML_SIGNATURE_PLACE)
  const setting = referenceDigestSetting(profile.referenceCanonicalization, profile.referencePrefixes, HASH_OF[profile.digestMethod] as ReferenceDigestSetting['hash'])
  referenceDigest(bytes, streamed, setting, limits)
}

const XMLSEC_TIMEOUT_MS = 60_000

/** CPU time of one `xmlsec1 --verify` process, as text; libxml2 is slow on deep nesting, so it is cut at a minute (wall). */
function xmlsecMs (file: string): string {
  const run = spawnSync('/usr/bin/time', ['-f', 'cpu=%U+%S', 'xmlsec1', '--verify', '--enabled-key-data', 'x509', '--trusted-pem', join(TRUST_DIR, 'root-ca.pem'), '--untrusted-pem', join(TRUST_DIR, 'issuing-ca.pem'), file], { encoding: 'utf8', timeout: XMLSEC_TIMEOUT_MS })
  if (run.signal != null) return `> ${XMLSEC_TIMEOUT_MS / 1000} s wall (stopped)`
  const m = /cpu=([\d.]+)\+([\d.]+)/.exec(run.stderr)
  return m == null ? '?' : ((Number(m[1]) + Number(m[2])) * 1000).toFixed(0)
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
  const loadStart = loadavg()[0] ?? 0
  const policy = await examplePolicy()
  const template = readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8')
  const genuine = signEdxml(template, { privateKeyPem: G22.keyPem, certificatePem: G22.certificatePem + G22.chainPem })
  const dir = mkdtempSync(join(tmpdir(), 'lienthong-hostile-'))
  const rows: string[] = []
  // Warm-up on the genuine document, so the first row does not pay for compiling the verifier.
  const warm = Buffer.from(genuine)
  for (let i = 0; i < 200; i++) {
    await verifyDocument(warm, policy)
    streamingPipeline(warm)
  }
  try {
    for (const n of WIDE) {
      const xml = genuine.replace('<edXML:SteeringType>', `${'<b/>'.repeat(n)}<edXML:SteeringType>`)
      const bytes = Buffer.from(xml)
      const file = join(dir, `wide-${n}.edxml`)
      writeFileSync(file, xml)
      const verdict = await verifyDocument(bytes, policy)
      const code = verdict.verdict === 'rejected' ? verdict.code : 'accepted'
      const ours = await timeAsyncMs(async () => await verifyDocument(bytes, policy), 3)
      const pipeline = timeMs(() => { streamingPipeline(bytes) }, 3)
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
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadStart.toFixed(2)} at the start, ${(loadavg()[0] ?? 0).toFixed(2)} at the end; ${new Date().toISOString().slice(0, 10)}. Command: \`${COMMAND}\`${quick ? ' (smaller sizes)' : ''}.`,
    '',
    'A genuine signed 10 KB document with N empty `<b/>` siblings added after signing (the F02 shape) or deep nesting (F07). Times are median CPU milliseconds (user + system) for one document on one thread, or of the xmlsec1 process; CPU time, unlike wall time, is hardly inflated by a loaded machine. ' +
      '"pipeline, no limits" is the streaming verifier\'s one pass (strict tokenizer, kept envelope and signature, streamed C14N digest) plus the profile check and the Reference digest, with the element bound lifted: ns per byte stays flat, so the work is linear in the input. The baseline is the previous verifier\'s core (xmldom + xml-crypto `checkSignature`), measured in the same run.',
    '',
    '| input | size | verifyDocument (verdict), CPU ms | pipeline, no limits, CPU ms | ns/byte | xmlsec1 --verify, CPU ms | xmldom + xml-crypto (baseline), CPU ms |',
    '|---|---|---|---|---|---|---|',
    ...rows
  ].join('\n')
  process.stdout.write(`${section}\n`)
  if (write) writeMarkedSection(DOC_PATH, '<!-- bench/hostile:start -->', '<!-- bench/hostile:end -->', section)
}

await main()
