import t from 'tap'
import { execFile } from 'node:child_process'
import { childEnv, untracked } from '../helpers/cli.js'

// The child processes the tests start (CLIs, hubs, workers) run without tap's process tracking:
// under tap, @tapjs/processinfo puts its loader back into NODE_OPTIONS on every spawn, whatever
// env the test passes, and a child that loads it spends about twice the CPU on its start-up
// (docs/testing.md). untracked() must keep it out, or every process test quietly pays again.

interface Seen { nodeOptions: string | null, pid: number, childPid: number | undefined }

/** What a node child started with `file, args` sees as its NODE_OPTIONS, and its pid. */
async function nodeOptionsSeen (file: string, args: string[]): Promise<Seen> {
  return await new Promise((resolve, reject) => {
    const child = execFile(file, args, { env: childEnv(), encoding: 'utf8', timeout: 60_000 }, (err, stdout) => {
      if (err != null) { reject(err); return }
      const seen = JSON.parse(stdout) as { nodeOptions: string | null, pid: number }
      resolve({ ...seen, childPid: child.pid })
    })
  })
}

const script = 'console.log(JSON.stringify({ nodeOptions: process.env.NODE_OPTIONS ?? null, pid: process.pid }))'

t.test('a child started through untracked() has no NODE_OPTIONS, and is the process the test holds', async (t) => {
  const seen = await nodeOptionsSeen(...untracked(process.execPath, ['-e', script]))
  t.equal(seen.nodeOptions, null, 'no loader in the child')
  // env(1) execs node in its own place: signals and /proc of child.pid reach node itself.
  t.equal(seen.pid, seen.childPid, 'the same pid as the spawned process')
})

// The reason for untracked(): only where tap's process tracking is loaded (a run under tap).
t.test('a plain spawn under tap gets the loader back, even with NODE_OPTIONS removed from its env', { skip: process.env._TAPJS_PROCESSINFO_ROOT_ == null ? 'not running under tap' : false }, async (t) => {
  const seen = await nodeOptionsSeen(process.execPath, ['-e', script])
  t.match(seen.nodeOptions, /processinfo/, 'tap put its loader back')
})
