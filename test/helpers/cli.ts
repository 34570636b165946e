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
 * `file args...` as a spawn command line that starts without tap's process tracking. tap loads
 * @tapjs/processinfo into the test process, and it puts its module loader back into NODE_OPTIONS
 * on every spawn (through process-on-spawn), whatever env the test passes: each child node then
 * resolves its modules through an off-thread loader hook and records its process info, about twice
 * the CPU of the same command (test/cli/user-command.test.ts: its CLI processes 8.1 s of CPU under
 * plain node, 17.7 s under tap). `env -u NODE_OPTIONS` drops it again and execs `file` in its own
 * place: the same pid, so signals, exit codes and /proc reach the command itself.
 */
export function untracked (file: string, args: string[]): [string, string[]] {
  return ['/usr/bin/env', ['-u', 'NODE_OPTIONS', file, ...args]]
}

/**
 * process.env for a child process, minus NODE_OPTIONS (tap's process tracking, which would load
 * into every child and slow its start; spawn through untracked() too, or tap puts it back), plus `extra`.
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
    const child = spawn(...untracked(process.execPath, [CLI, ...args]), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code, stdout, stderr }) })
  })
}
