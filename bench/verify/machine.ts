/** The machine line of the report. */
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os'
import { join } from 'node:path'
import { ROOT } from '../../test/helpers/example-pki.js'

export interface Machine {
  cpu: string
  cores: number
  ramBytes: number
  os: string
  node: string
  libraries: Record<string, string>
  /** 1-minute load average when the run started (the machine may be shared). */
  loadAverage: number
  date: string
}

function cpuModel (): string {
  try {
    const line = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]
    if (line != null) return line.trim()
  } catch {}
  return cpus()[0]?.model ?? 'unknown CPU'
}

function installedVersion (name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export function describeMachine (): Machine {
  return {
    cpu: cpuModel(),
    cores: availableParallelism(),
    ramBytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    libraries: Object.fromEntries(['xml-crypto', '@xmldom/xmldom', 'xpath', 'pkijs'].map((name) => [name, installedVersion(name)])),
    loadAverage: loadavg()[0] ?? 0,
    date: new Date().toISOString()
  }
}
