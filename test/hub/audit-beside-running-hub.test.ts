import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'
import { FIXTURES } from '../helpers/example-pki.js'
import { lienthongEnv, spawnLienthong } from '../helpers/hub-process.js'

// `lienthong audit verify` beside a running `npm start` exited 2 with `Aborted()` from the embedded
// database (once it printed "intact: 0 entries" while the log had entries) and wrote to its files.
// Now every command that opens the embedded database takes its lock first: beside the running hub
// it refuses with one clear message before PGlite touches a file; once the hub stopped, it works.

const lienthong = runCli

/** Path -> size and mtime of every file under `dir`. */
function snapshot (dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const s = statSync(p)
      if (s.isDirectory()) walk(p)
      else out[p.slice(dir.length)] = `${s.size} ${s.mtimeMs}`
    }
  }
  walk(dir)
  return out
}

// One hub for the file (a `lienthong start` on PGlite is the slow part); the subtests run in order
// (tap runs a file's subtests one after the other): refusals beside the running hub, then a second
// hub refused, then the first stopped and the audit working.
const dataDir = t.testdir()
const env = lienthongEnv({
  LIENTHONG_PORT: '0',
  LIENTHONG_DATA_DIR: dataDir,
  LIENTHONG_QUEUE_PREFIX: `{lt-audit-${process.pid}}`,
  // info: the worker's "checkpoint signed" line is what the first test waits for.
  LIENTHONG_LOG_LEVEL: 'info',
  LIENTHONG_VERIFY_THREADS: '1',
  // An idle hub: nothing periodic writes while the files are compared.
  LIENTHONG_RECONCILE_INTERVAL_MS: '600000',
  LIENTHONG_CHECKPOINT_INTERVAL_MS: '600000'
})
const hub = spawnLienthong(t, 'start', env)

t.test('lienthong audit verify beside a running lienthong start on the embedded database: refused cleanly, nothing touched', async (t) => {
  await hub.waitForOutput(/demo-api-keys\.json/, 60_000)
  const url = (/listening on (\S+)/.exec(hub.stdout) as RegExpExecArray)[1] as string
  const key = (/000\.00\.00\.G22\s+(lt_\S+)/.exec(hub.stdout) as RegExpExecArray)[1] as string
  const submit = async (): Promise<number> => (await fetch(`${url}/v1/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` },
    body: readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'))
  })).status
  t.equal(await submit(), 202, 'the hub has a signature-log entry')
  // The worker's first checkpoint (1 s after start) is its last write until the interval: the
  // files are compared after it.
  await hub.waitForOutput(/signature log: checkpoint signed/, 60_000)

  const lock = JSON.parse(readFileSync(join(dataDir, 'pglite.lock'), 'utf8')) as { pid: number, command: string }
  t.match(lock, { pid: hub.pid, command: 'start' }, 'the running hub holds the embedded database')
  // The hub also writes once after start-up (the demo accounts' password hashes, its directory
  // publication): the files are compared only once they have stood still for 2 s, so what the
  // comparison catches is a write by the refused commands, not the hub finishing its start.
  await hub.waitForOutput(/demo-accounts\.json/, 60_000)
  let before = snapshot(join(dataDir, 'pglite'))
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const now = snapshot(join(dataDir, 'pglite'))
    if (JSON.stringify(now) === JSON.stringify(before)) break
    before = now
  }

  for (const args of [['audit', 'verify', '--data-dir', dataDir], ['audit', 'checkpoint', '--data-dir', dataDir], ['audit', 'export-checkpoint', '--data-dir', dataDir, '--out', join(dataDir, 'x.json')]]) {
    const refused = await lienthong(args, env)
    t.equal(refused.code, 2, `${args.slice(0, 2).join(' ')}: exit 2, could not check`)
    t.equal(refused.stdout, '', 'no verdict printed (never "intact: 0 entries")')
    t.match(refused.stderr, new RegExp(`^lienthong: the hub is running on the embedded database ${join(dataDir, 'pglite').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(pid ${hub.pid}, \`lienthong start\` since .*\\); .*nothing was read or written\\. Stop the hub first`), refused.stderr)
    t.notMatch(refused.stderr, /Aborted|\n\s+at /, 'no PGlite abort, no stack trace')
  }
  t.same(snapshot(join(dataDir, 'pglite')), before, 'not a file of the embedded database was touched')
  t.equal(JSON.parse(readFileSync(join(dataDir, 'pglite.lock'), 'utf8')).pid, hub.pid, 'the lock is still the hub\'s')
  t.equal(await submit(), 200, 'and the hub goes on answering (the same document again: the duplicate answer, logged too)')
})

t.test('a second lienthong start on the same embedded database is refused with the same clear message', async (t) => {
  const second = spawnLienthong(t, 'start', env)
  t.same(await second.waitForExit(60_000), { code: 2, signal: null })
  t.match(second.stderr, new RegExp(`the hub is running on the embedded database .* \\(pid ${hub.pid}, \`lienthong start\``))
  t.ok(hub.running, 'the first hub is unharmed')
})

t.test('once the hub stopped, lienthong audit verify works on its embedded database', async (t) => {
  t.same(await hub.stop('SIGTERM', 60_000), { code: 0, signal: null }, 'the hub stops cleanly')
  const after = await lienthong(['audit', 'verify', '--data-dir', dataDir], env)
  t.equal(after.code, 0, after.stderr)
  t.match(after.stdout, /^signature log intact: 2 entries, head #\d+ [0-9a-f]{64}\n/, 'once stopped: the real log, with both entries')
  t.match(after.stdout, /consistent with checkpoint #\d+ \(database\)/, 'checked against the checkpoint the worker signed')
  t.same(readdirSync(dataDir).filter((f) => f.endsWith('.lock')), [], 'the lock went with the processes')
})
