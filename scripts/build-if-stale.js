// tap's `before` script (package.json): the tests spawn the compiled CLI in dist/ (test/helpers/cli.ts),
// so dist/ must be built from the sources under test, whether the run is `npm test` or
// `npx tap one-file`. Rebuilds when dist/ is missing or anything under src/ (directories too: a
// deleted module), a tsconfig or a build script is newer than dist/cli/main.js — the rule of
// scripts/quick-start-check.sh, so that script never rebuilds (and empties) dist/ mid-run.
// tap runs this script with its coverage recording on even with disable-coverage, then fails the
// run for its uncovered lines: the c8 ignore comments keep it out of that report.
/* c8 ignore start */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const stamp = join(root, 'dist', 'cli', 'main.js')
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.js']

/** The newest modification time of `path` and, for a directory, of everything under it. */
function newest (path) {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let latest = stat.mtimeMs
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)))
  return latest
}

const builtAt = existsSync(stamp) ? statSync(stamp).mtimeMs : -Infinity
const changed = inputs.filter((input) => newest(join(root, input)) > builtAt)
if (changed.length > 0) {
  process.stderr.write(`dist/ is ${existsSync(stamp) ? `older than ${changed.join(', ')}` : 'missing'}: npm run build\n`)
  // A source saved while tsc runs must still count as newer than this build.
  const started = new Date()
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 2, 2] })
  utimesSync(stamp, started, started)
}
/* c8 ignore stop */
