/**
 * `npm run bench:cli-start [-- --runs N]`: how long `lienthong verify` of one small file takes
 * from start to exit (issue 15: under 200 ms wall), against `node -e ''` in the same run. Each
 * round starts, one after the other: `node -e ''`, `node bin/lienthong.js verify <file>` (the
 * bundle with the build's V8 code cache) and the same bundle compiled from source (the code cache
 * left out), N rounds (default 20). Wall time is measured here, around each child; CPU time by
 * the child itself at exit (bench/verify/cpu-at-exit.mjs, all its threads). Needs a built dist/
 * (`npm run build`). Writes its section of docs/benchmarks.md.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeMarkedSection } from '../docs-section.js'
import { describeMachine } from './machine.js'
import { ROOT } from '../../test/helpers/example-pki.js'

const runsArg = process.argv.indexOf('--runs')
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20
const FILE = 'test/fixtures/signatures/valid/own-c14n-rsa-sha512-many-recipients.edxml'
const CPU_HOOK = join(ROOT, 'bench', 'verify', 'cpu-at-exit.mjs')
const LOADER = join(ROOT, 'dist', 'cli', 'verify-bundle.js')

interface Variant { name: string, args: string[], expectCode: number }
const VARIANTS: Variant[] = [
  { name: "`node -e ''`", args: ['-e', ''], expectCode: 0 },
  { name: '`lienthong verify` (bundle + code cache)', args: ['bin/lienthong.js', 'verify', FILE], expectCode: 0 },
  {
    name: 'the bundle compiled from source (no code cache)',
    args: ['--input-type=module', '-e', `import { loadVerifyBundle } from ${JSON.stringify(LOADER)}; process.argv.splice(1, 0, 'lienthong'); await loadVerifyBundle(${JSON.stringify(join(ROOT, 'dist'))}, false).run()`, 'verify', FILE],
    expectCode: 0
  }
]

const dir = mkdtempSync(join(tmpdir(), 'lienthong-cli-start-'))
const env: NodeJS.ProcessEnv = { ...process.env }
delete env.NODE_OPTIONS
delete env.LIENTHONG_TRUST_DIR
delete env.LIENTHONG_REGISTRY

/** One run: wall ms (measured here) and CPU ms (reported by the child). */
async function once (variant: Variant, log: string): Promise<{ wallMs: number, cpuMs: number }> {
  const started = process.hrtime.bigint()
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', CPU_HOOK, ...variant.args], { cwd: ROOT, env: { ...env, LIENTHONG_BENCH_CPU_LOG: log }, stdio: 'ignore' })
    child.on('error', reject)
    child.on('close', resolve)
  })
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6
  if (code !== variant.expectCode) throw new Error(`${variant.name}: exit ${String(code)}, expected ${variant.expectCode}`)
  const lines = readFileSync(log, 'utf8').trim().split('\n')
  return { wallMs, cpuMs: Number(lines[lines.length - 1]) / 1000 }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

const loadBefore = loadavg()[0] as number
const results = VARIANTS.map(() => ({ wall: [] as number[], cpu: [] as number[] }))
try {
  for (let round = 0; round < RUNS; round++) {
    for (const [i, variant] of VARIANTS.entries()) {
      const r = await once(variant, join(dir, `cpu-${i}.log`))
      results[i]?.wall.push(r.wallMs)
      results[i]?.cpu.push(r.cpuMs)
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const loadAfter = loadavg()[0] as number

const machine = describeMachine()
const base = results[0] as { wall: number[], cpu: number[] }
const rows = VARIANTS.map((v, i) => {
  const r = results[i] as { wall: number[], cpu: number[] }
  return `| ${v.name} | ${median(r.wall).toFixed(0)} | ${mean(r.wall).toFixed(0)} | ${Math.min(...r.wall).toFixed(0)} | ${median(r.cpu).toFixed(0)} | ${mean(r.cpu).toFixed(0)} | ${i === 0 ? '' : `+${(median(r.cpu) - median(base.cpu)).toFixed(0)}`} |`
})
const section = `## \`lienthong verify\` start-up (bench/verify/cli-start.ts, issue 15)

\`npm run bench:cli-start -- --runs ${RUNS}\` on ${machine.date}: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end (the machine may be shared: wall time depends on it, CPU time much less).

One small file (\`${FILE}\`, 8.8 KB, three recipients, RSA-SHA512, the example PKI's default trust store and registry), each process started from scratch, ${RUNS} rounds of the three one after the other. Wall: spawn to exit, measured by the bench process. CPU: user + system of the child, all threads, as it reports at exit.

| process | wall median (ms) | wall mean | wall min | CPU median (ms) | CPU mean | CPU over \`node -e ''\` |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}
`
process.stdout.write(section)
writeMarkedSection(join(ROOT, 'docs', 'benchmarks.md'), '<!-- bench/cli-start:start -->', '<!-- bench/cli-start:end -->', section)
