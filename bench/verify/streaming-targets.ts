/**
 * The streaming verifier's targets (issue 15), measured side by side in one run and written to the
 * "Streaming verifier targets" section of docs/benchmarks.md (also run at the end of `npm run bench`):
 *
 *   node --import tsx bench/verify/streaming-targets.ts [--quick | --no-write]
 *
 * - 20 MB document, full policy, in-process `verifyDocument` against `xmlsec1 --verify` (whole
 *   process) on the same file; peak memory of one verification in a fresh process over its baseline;
 * - 10 KB document: verifications per second on one thread, in a fresh process and again after the
 *   20 MB documents (mixed sizes: a large document must not slow the small ones down);
 * - 100,000 empty siblings added to a genuine document (0.4 MB): time to the verdict;
 * - 50 MB nested to depth 10,000 (repeated): time to the refusal.
 *
 * Every time is given as wall time and as CPU time of the measuring thread (or, for xmlsec1, of its
 * process, from /usr/bin/time): on a shared machine wall time includes waiting for a core, CPU time
 * does not, so the targets are judged on CPU time and the load average is printed beside them.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { signEdxml } from '../../src/signing/sign-document.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import type { VerificationPolicy } from '../../src/verification/verification-policy.js'
import { FIXTURES, examplePolicy } from '../../test/helpers/example-pki.js'
import { writeMarkedSection } from '../docs-section.js'
import { G22, TRUST_DIR } from './fixtures.js'
import { makeDocuments } from './make-documents.js'
import { measurePeakMemory } from './memory.js'

const quick = process.argv.includes('--quick')
const write = !quick && !process.argv.includes('--no-write')
const DOC_PATH = new URL('../../docs/benchmarks.md', import.meta.url).pathname
const log = (m: string): void => { process.stderr.write(`[bench/streaming] ${m}\n`) }

interface Timing { wallMs: number, cpuMs: number }

/** Median wall and CPU time (user + system of this process; the verifier runs on this thread). */
async function timeIt (f: () => Promise<unknown>, runs: number): Promise<Timing> {
  const samples: Timing[] = []
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    await f()
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6
    const used = process.cpuUsage(cpu)
    samples.push({ wallMs, cpuMs: (used.user + used.system) / 1000 })
  }
  const mid = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
  return { wallMs: mid(samples.map((s) => s.wallMs)), cpuMs: mid(samples.map((s) => s.cpuMs)) }
}

const XMLSEC_ARGS = ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', join(TRUST_DIR, 'root-ca.pem'), '--untrusted-pem', join(TRUST_DIR, 'issuing-ca.pem')]

/** xmlsec1 --verify, whole process: median wall and CPU (user + system) time, peak RSS. */
function xmlsec (file: string, runs: number): Timing & { peakRss: number } {
  const samples: (Timing & { peakRss: number })[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    const run = spawnSync('/usr/bin/time', ['-f', 'cpu=%U+%S rss=%M', 'xmlsec1', ...XMLSEC_ARGS, file], { encoding: 'utf8', maxBuffer: 1 << 20 })
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6
    if (run.status !== 0) throw new Error(`xmlsec1 --verify failed: ${run.stderr.trim()}`)
    const m = /cpu=([\d.]+)\+([\d.]+) rss=(\d+)/.exec(run.stderr)
    if (m == null) throw new Error(`no /usr/bin/time output: ${run.stderr}`)
    samples.push({ wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, peakRss: Number(m[3]) * 1024 })
  }
  samples.sort((a, b) => a.cpuMs - b.cpuMs)
  return samples[Math.floor(samples.length / 2)] as Timing & { peakRss: number }
}

async function verdictOf (bytes: Buffer, policy: VerificationPolicy): Promise<string> {
  const v = await verifyDocument(bytes, policy)
  return v.verdict === 'rejected' ? v.code : 'accepted'
}

const rate = (n: number): string => Math.round(n).toLocaleString('en')

/**
 * 10 KB verifications per CPU second, in three blocks: on a shared machine a block can land beside
 * a neighbour's burst (CPU time per verification grows when the other hyperthread of the core is
 * busy); the median is judged.
 */
async function smallThroughput (bytes: Buffer, policy: VerificationPolicy, when: string): Promise<{ median: number, text: string }> {
  log(`10 KB: throughput ${when}`)
  for (let i = 0; i < 200; i++) await verifyDocument(bytes, policy)
  const blocks: { ops: number, cpuS: number, wallS: number }[] = []
  for (let block = 0; block < 3; block++) {
    let ops = 0
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    const budgetMs = quick ? 300 : 3000
    while (Number(process.hrtime.bigint() - start) / 1e6 < budgetMs) {
      await verifyDocument(bytes, policy)
      ops++
    }
    const used = process.cpuUsage(cpu)
    blocks.push({ ops, cpuS: (used.user + used.system) / 1e6, wallS: Number(process.hrtime.bigint() - start) / 1e9 })
  }
  const rates = blocks.map((b) => b.ops / b.cpuS).sort((x, y) => x - y)
  const median = rates[1] as number
  const total = blocks.reduce((sum, b) => ({ ops: sum.ops + b.ops, wallS: sum.wallS + b.wallS }), { ops: 0, wallS: 0 })
  return {
    median,
    text: `median of 3 blocks: ${rates.map(rate).join(', ')}; ${(1000 / median).toFixed(3)} ms CPU each; ${rate(total.ops / total.wallS)}/s wall, ${total.ops} verifications`
  }
}

const f1 = (n: number): string => n.toFixed(1)
const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MB`

async function main (): Promise<void> {
  const started = Date.now()
  const loadStart = loadavg()[0] ?? 0
  const policy = await examplePolicy()
  const dir = mkdtempSync(join(tmpdir(), 'lienthong-streaming-'))
  const rows: string[][] = []
  try {
    const [small, large] = makeDocuments(dir, [{ label: '10 KB', targetBytes: 10 * 1024 }, { label: '20 MB', targetBytes: 20 * 1024 * 1024 }])
    if (small == null || large == null) throw new Error('no documents')
    const smallBytes = readFileSync(small.path)
    const largeBytes = readFileSync(large.path)
    if (await verdictOf(smallBytes, policy) !== 'accepted') throw new Error('the 10 KB benchmark document is not accepted')

    // Measured in a fresh process that has verified only 10 KB documents, and again after the
    // 20 MB ones: a hub sees mixed sizes, and a large document once left the parser's hot loop
    // deoptimising on every later document (0.45 -> 0.8 ms CPU each), which only the second
    // measure shows. The target is judged on the worse of the two.
    const fresh = await smallThroughput(smallBytes, policy, 'in a fresh process')
    log('20 MB: verifyDocument and xmlsec1')
    if (await verdictOf(largeBytes, policy) !== 'accepted') throw new Error('the 20 MB benchmark document is not accepted')
    const ours = await timeIt(async () => await verifyDocument(largeBytes, policy), quick ? 1 : 5)
    const theirs = xmlsec(large.path, quick ? 1 : 5)
    rows.push(['20 MB document, full policy, in-process vs `xmlsec1 --verify` whole process', '<= 1.0x time',
      `ours ${f1(ours.cpuMs)} ms CPU (${f1(ours.wallMs)} wall); xmlsec1 ${f1(theirs.cpuMs)} ms CPU (${f1(theirs.wallMs)} wall): **${(ours.cpuMs / theirs.cpuMs).toFixed(2)}x** CPU, ${(ours.wallMs / theirs.wallMs).toFixed(2)}x wall`,
      ours.cpuMs <= theirs.cpuMs ? 'met (CPU)' : '**not met**'])

    log('20 MB: peak memory (fresh processes)')
    const memory = Array.from({ length: quick ? 1 : 2 }, () => measurePeakMemory('full', large.path, small.path))
    const delta = Math.max(...memory.map((m) => m.peakRss - m.baselineRss))
    rows.push(['20 MB: peak memory over baseline (fresh process, input bytes included)', '<= 2x the document',
      `${mb(delta)} = **${(delta / large.bytes).toFixed(2)}x** (baseline ${mb(memory[0]?.baselineRss ?? 0)}); xmlsec1 peak RSS ${mb(theirs.peakRss)}`,
      delta <= 2 * large.bytes ? 'met' : '**not met**'])

    const mixed = await smallThroughput(smallBytes, policy, 'after the 20 MB documents')
    const worse = Math.min(fresh.median, mixed.median)
    rows.splice(0, 0, ['10 KB document, full policy, one thread', '>= 1,500 verifications/s per core',
      `**${rate(fresh.median)}/s per CPU second** in a fresh process (${fresh.text}); **${rate(mixed.median)}/s** after the 20 MB documents in the same process (${mixed.text}): ${(mixed.median / fresh.median).toFixed(2)}x`,
      worse >= 1500 ? 'met (CPU)' : '**not met**'])

    const template = readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8')
    const genuine = signEdxml(template, { privateKeyPem: G22.keyPem, certificatePem: G22.certificatePem + G22.chainPem })

    // 100,000 siblings cross the element bound (refused when it is crossed); 99,000 stay under
    // it, so the whole pipeline runs, digest included (the siblings were added after signing).
    for (const siblings of [100_000, 99_000]) {
      log(`${siblings} empty siblings`)
      const wide = Buffer.from(genuine.replace('<edXML:SteeringType>', `${'<b/>'.repeat(siblings)}<edXML:SteeringType>`))
      const wideVerdict = await verdictOf(wide, policy)
      const wideTime = await timeIt(async () => await verifyDocument(wide, policy), quick ? 3 : 9)
      rows.push([`${siblings.toLocaleString('en')} empty sibling elements (${(wide.length / 2 ** 20).toFixed(2)} MB)`, 'verdict < 50 ms',
        `**${f1(wideTime.cpuMs)} ms CPU** (${f1(wideTime.wallMs)} wall), ${wideVerdict}`, wideTime.cpuMs < 50 ? 'met (CPU)' : '**not met**'])
    }

    log('50 MB nested to depth 10,000')
    const nest = '<edXML:X>'.repeat(10_000) + '</edXML:X>'.repeat(10_000)
    const deep = Buffer.from(genuine.replace('<edXML:SteeringType>', `${nest.repeat(Math.ceil(50 * 2 ** 20 / nest.length))}<edXML:SteeringType>`))
    const deepVerdict = await verdictOf(deep, { ...policy, maxBytes: deep.length })
    const deepTime = await timeIt(async () => await verifyDocument(deep, { ...policy, maxBytes: deep.length }), quick ? 1 : 5)
    rows.push([`${mb(deep.length)} nested to depth 10,000 (repeated), size cap lifted`, 'refused < 0.5 s',
      `**${f1(deepTime.cpuMs)} ms CPU** (${f1(deepTime.wallMs)} wall), ${deepVerdict}`, deepTime.cpuMs < 500 && deepVerdict !== 'accepted' ? 'met (CPU)' : '**not met**'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const section = [
    '## Streaming verifier targets (bench/verify/streaming-targets.ts)',
    '',
    `Generated by \`node --import tsx bench/verify/streaming-targets.ts\` (also the last step of \`npm run bench\`) on ${new Date().toISOString()} in ${Math.round((Date.now() - started) / 1000)} s. ` +
      `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ` +
      `load average ${loadStart.toFixed(2)} at the start, ${(loadavg()[0] ?? 0).toFixed(2)} at the end.`,
    '',
    'Documents as in the section above (one-recipient template, random attachment on one line, rsa-sha256, exclusive C14N, signed at bench time). ' +
      'Times are medians; CPU time is that of the verifying thread (user + system) or of the xmlsec1 process (`/usr/bin/time`), which waiting for a ' +
      'core on a loaded machine does not inflate; the targets are judged on it. xmlsec1 checks the path against the same anchors without CRLs and none of the hub\'s policy.',
    '',
    '| measure | target | measured | result |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`)
  ].join('\n')
  process.stdout.write(`${section}\n`)
  if (write) writeMarkedSection(DOC_PATH, '<!-- bench/streaming:start -->', '<!-- bench/streaming:end -->', section)
}

await main()
