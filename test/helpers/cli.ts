import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from './example-pki.js'

/**
 * The compiled CLI, which the tests spawn instead of src/cli/main.ts through tsx: a process then
 * starts on about 0.6 s of CPU instead of 2 s, which adds up over the suite's hundreds of spawns on
 * a busy machine. dist/ is rebuilt before any test file runs when src/ changed
 * (scripts/build-if-stale.js, tap's `before`), so a stale build is never what is tested.
 */
export const DIST = join(ROOT, 'dist')
export const CLI = join(DIST, 'cli', 'main.js')

/**
 * process.env for a child process, minus NODE_OPTIONS (tap's process tracking, which would load
 * into every child and slow its start), plus `extra`.
 */
export function childEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_OPTIONS
  return { ...env, ...extra }
}

export interface CliRun { code: number | null, stdout: string, stderr: string }

/** Runs the compiled CLI to its end (from the project root, with exactly `env`) and collects its output. */
export async function runCli (args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code, stdout, stderr }) })
  })
}
