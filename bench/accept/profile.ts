/**
 * `--profile`: what the hub's main thread spent its time on, from the V8 CPU profile that
 * `node --cpu-prof` writes when the hub exits. The profile's sample times are on the same
 * monotonic clock as this process's `process.hrtime` (both CLOCK_MONOTONIC on Linux), so each
 * measured phase is cut out of it by the time window run.ts recorded. Per window: busy time per
 * document by origin (our src/ directories, npm packages, node internals, GC), the functions with
 * the most self time, our functions with the most inclusive time, and the longest stretch the main
 * thread was busy without a break (what a stall is made of) with what it ran.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../../test/helpers/example-pki.js'

export interface ProfileWindow {
  name: string
  startNs: bigint
  endNs: bigint
  documents: number
  /** Printed under the window's heading (e.g. when things happened, in ms into the window). */
  note?: string
}

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

interface Sample { timeUs: number, durationUs: number, node: number }

const IDLE = '(idle)'
const ROOT_URL = `file://${ROOT}`

function origin (frame: CallFrame): string {
  const url = frame.url
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : `native ${frame.functionName}`
  const modules = url.lastIndexOf('/node_modules/')
  if (modules !== -1) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/')
    return (parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1] ?? ''}` : parts[0]) ?? url
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).replace(/^internal\//, '').split('/')[0] ?? ''}`
  if (url.startsWith(ROOT_URL)) {
    const path = url.slice(ROOT_URL.length)
    return path.startsWith('src/') ? path.split('/').slice(0, 2).join('/') : path
  }
  return url
}

/** Our own files run through tsx without source maps in the profile: their line numbers mean nothing, so they are left out. */
function frameName (frame: CallFrame): string {
  const own = frame.url.startsWith(ROOT_URL)
  const url = own ? frame.url.slice(ROOT_URL.length) : frame.url.replace(/^.*\/node_modules\//, '')
  const where = url === '' ? '' : own ? url : `${url}:${frame.lineNumber + 1}`
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${where}`.trim()
}

/** Profiles of the hub's main thread (thread id 0 in node's file name) in `dir`. */
function mainThreadProfiles (dir: string): CpuProfile[] {
  return readdirSync(dir)
    .filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile)
}

interface Analysis {
  byId: Map<number, ProfileNode>
  parent: Map<number, number>
  samples: Sample[]
}

function analyse (profile: CpuProfile): Analysis {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const samples: Sample[] = []
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    // A sample stands for the time until the next one.
    const next = profile.timeDeltas[i + 1] ?? 0
    samples.push({ timeUs: t, durationUs: next, node: profile.samples[i] as number })
  }
  return { byId, parent, samples }
}

function stack (a: Analysis, node: number): CallFrame[] {
  const frames: CallFrame[] = []
  for (let id: number | undefined = node; id != null; id = a.parent.get(id)) {
    const n = a.byId.get(id)
    if (n != null) frames.push(n.callFrame)
  }
  return frames
}

const isIdle = (a: Analysis, s: Sample): boolean => a.byId.get(s.node)?.callFrame.functionName === IDLE

function top (totals: Map<string, number>, n: number): Array<[string, number]> {
  return [...totals.entries()].sort((x, y) => y[1] - x[1]).slice(0, n)
}

function add (totals: Map<string, number>, key: string, us: number): void {
  totals.set(key, (totals.get(key) ?? 0) + us)
}

function describe (a: Analysis, samples: Sample[], documents: number, perDocument: boolean): string[] {
  const lines: string[] = []
  const busy = samples.filter((s) => !isIdle(a, s))
  const busyUs = busy.reduce((n, s) => n + s.durationUs, 0)
  const totalUs = samples.reduce((n, s) => n + s.durationUs, 0)
  const unit = perDocument ? 'ms per document' : 'ms'
  const scale = (us: number): string => (us / 1000 / (perDocument ? Math.max(1, documents) : 1)).toFixed(2)
  lines.push(`Main thread busy ${(busyUs / 1000).toFixed(0)} ms of ${(totalUs / 1000).toFixed(0)} ms (${(100 * busyUs / Math.max(1, totalUs)).toFixed(0)}%)` +
    `${perDocument ? `, ${scale(busyUs)} ms per accepted document (${documents})` : ''}.`, '')
  const byOrigin = new Map<string, number>()
  const bySelf = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const s of busy) {
    const frames = stack(a, s.node)
    const leaf = frames[0]
    if (leaf == null) continue
    add(byOrigin, origin(leaf), s.durationUs)
    add(bySelf, frameName(leaf), s.durationUs)
    const seen = new Set<string>()
    for (const f of frames) {
      if (!f.url.startsWith(`${ROOT_URL}src/`)) continue
      const name = frameName(f)
      if (seen.has(name)) continue
      seen.add(name)
      add(inclusive, name, s.durationUs)
    }
  }
  lines.push(`| Self time by origin | ${unit} |`, '| --- | ---: |', ...top(byOrigin, 12).map(([k, v]) => `| ${k} | ${scale(v)} |`), '')
  lines.push(`| Functions with the most self time | ${unit} |`, '| --- | ---: |', ...top(bySelf, 12).map(([k, v]) => `| \`${k}\` | ${scale(v)} |`), '')
  lines.push(`| Our functions (src/) with the most inclusive time | ${unit} |`, '| --- | ---: |', ...top(inclusive, 12).map(([k, v]) => `| \`${k}\` | ${scale(v)} |`), '')
  return lines
}

/** Runs of consecutive non-idle samples, longest first. */
function busyStretches (a: Analysis, samples: Sample[]): Sample[][] {
  const stretches: Sample[][] = []
  let current: Sample[] = []
  for (const s of samples) {
    if (isIdle(a, s)) {
      if (current.length > 0) stretches.push(current)
      current = []
    } else {
      current.push(s)
    }
  }
  if (current.length > 0) stretches.push(current)
  return stretches.sort((x, y) => span(y) - span(x))
}

const span = (stretch: Sample[]): number => {
  const first = stretch[0]
  const last = stretch.at(-1)
  return first == null || last == null ? 0 : last.timeUs + last.durationUs - first.timeUs
}

/** The top self functions of a stretch, and which of our functions they ran under, on one line. */
function oneLine (a: Analysis, stretch: Sample[]): string {
  const self = new Map<string, number>()
  const own = new Map<string, number>()
  for (const s of stretch) {
    const frames = stack(a, s.node)
    const leaf = frames[0]
    if (leaf == null) continue
    add(self, frameName(leaf), s.durationUs)
    // The innermost of our own functions on the stack: what our code was doing.
    const ours = frames.find((f) => f.url.startsWith(`${ROOT_URL}src/`) && f.functionName !== '')
    if (ours != null) add(own, frameName(ours), s.durationUs)
  }
  const list = (m: Map<string, number>): string => top(m, 3).map(([k, v]) => `\`${k}\` ${(v / 1000).toFixed(0)} ms`).join(', ')
  return `self: ${list(self)}; in our code: ${own.size > 0 ? list(own) : '-'}`
}

export function profileSummary (dir: string, windows: ProfileWindow[]): string {
  const profiles = mainThreadProfiles(dir)
  const profile = profiles[0]
  if (profile == null) return '(no CPU profile of the hub\'s main thread was written)'
  const a = analyse(profile)
  const lines: string[] = ['## Hub main thread, CPU profile (--profile)', '']
  lines.push('Sampled by `node --cpu-prof` (1 ms interval) in the hub process; each phase cut out of the profile by its time window. ' +
    'Self time is where the thread was when sampled; inclusive time counts a function while it or anything it called ran. ' +
    'Times are wall-clock sample intervals: on an oversubscribed machine they include time the thread waited for a core, so ' +
    'read the proportions, and the CPU times from /proc in the report for absolute cost.', '')
  for (const w of windows) {
    const startUs = Number(w.startNs / 1000n)
    const endUs = Number(w.endNs / 1000n)
    const samples = a.samples.filter((s) => s.timeUs >= startUs && s.timeUs < endUs)
    lines.push(`### ${w.name}`, '')
    if (w.note != null) lines.push(w.note, '')
    if (samples.length === 0) {
      lines.push(`No samples in this window (profile ${profile.startTime}..${profile.endTime} us, window ${startUs}..${endUs} us): the clocks do not line up.`, '')
      continue
    }
    lines.push(...describe(a, samples, w.documents, w.documents > 1))
    const stretches = busyStretches(a, samples).slice(0, 5)
    if (stretches.length > 0) {
      lines.push('Longest stretches in which the main thread never went idle: back-to-back tasks (a saturated thread: other requests wait their turn), or one long task (a stall: nothing else is served until it ends):', '')
      lines.push('| starts (ms into the window) | lasts (ms) | what ran |', '| ---: | ---: | --- |')
      for (const stretch of stretches) {
        lines.push(`| ${(((stretch[0]?.timeUs ?? startUs) - startUs) / 1000).toFixed(0)} | ${(span(stretch) / 1000).toFixed(1)} | ${oneLine(a, stretch)} |`)
      }
      lines.push('')
    }
  }
  return lines.join('\n')
}
