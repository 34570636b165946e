import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { untracked } from '../helpers/cli.js'
import { ROOT } from '../helpers/example-pki.js'

// The import rules of `npm run lint` (.dependency-cruiser.cjs and scripts/check-folder-cycles.js),
// run as lint runs them on small source trees: each forbidden shape must fail with its rule's
// name, and the allowed shapes must pass, so the rules cannot go quietly blind.

interface Run { code: number | null, output: string }

function run (cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(...untracked(process.execPath, args), { cwd, encoding: 'utf8', timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, output: stdout + stderr })
    })
  })
}

const folderCycles = (cwd: string): Promise<Run> => run(cwd, [join(ROOT, 'scripts', 'check-folder-cycles.js')])
const depcruise = (cwd: string): Promise<Run> =>
  run(cwd, [join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), 'src', '--config', '.dependency-cruiser.cjs'])

/** A source tree of one-line modules: each file exports a constant and imports the listed files. */
function tree (t: Test, files: Record<string, string[]>): string {
  const content: Record<string, unknown> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } })
  }
  // t.testdir wants nested objects for folders, not paths with slashes.
  const folder = (path: string[]): Record<string, unknown> => path.reduce<Record<string, unknown>>((at, name) => {
    at[name] ??= {}
    return at[name] as Record<string, unknown>
  }, content)
  for (const [file, imports] of Object.entries(files)) {
    const lines = imports.map((spec, i) => spec.startsWith('type:')
      ? `import type { value as v${i} } from '${spec.slice(5)}'`
      : `import { value as v${i} } from '${spec}'`)
    const sum = imports.map((_, i) => `typeof v${i}`).join(' + ')
    const parts = file.split('/')
    folder(parts.slice(0, -1))[parts.at(-1) as string] = `${lines.join('\n')}\nexport const value = ${imports.length > 0 ? `String(${sum})` : "'leaf'"}\n`
  }
  const dir = t.testdir(content as Parameters<typeof t.testdir>[0])
  copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'))
  return dir
}

const cases: Array<{ name: string, files: Record<string, string[]>, check: 'folders' | 'depcruise', fails: RegExp | null }> = [
  {
    name: 'one-way imports between folders, errors -> domain: no folder cycle',
    files: { 'src/a/x.ts': ['../b/y.js'], 'src/b/y.ts': ['../errors/e.js'], 'src/errors/e.ts': ['../domain/d.js'], 'src/domain/d.ts': [] },
    check: 'folders',
    fails: null
  },
  {
    name: 'the same tree passes the depcruise rules',
    files: { 'src/a/x.ts': ['../b/y.js'], 'src/b/y.ts': ['../errors/e.js'], 'src/errors/e.ts': ['../domain/d.js'], 'src/domain/d.ts': [] },
    check: 'depcruise',
    fails: null
  },
  {
    // No file cycle here (x -> y -> z), which is why depcruise's circular rule alone misses it.
    name: 'two folders importing each other through different files',
    files: { 'src/a/x.ts': ['../b/y.js'], 'src/b/y.ts': ['../a/z.js'], 'src/a/z.ts': [] },
    check: 'folders',
    fails: /folder cycle: src\/a, src\/b\n {2}src\/a -> src\/b: src\/a\/x\.ts imports src\/b\/y\.ts\n {2}src\/b -> src\/a: src\/b\/y\.ts imports src\/a\/z\.ts/
  },
  {
    name: 'a loop of three folders closed by a type-only import',
    files: { 'src/a/x.ts': ['../b/y.js'], 'src/b/y.ts': ['../c/z.js'], 'src/c/z.ts': ['type:../a/w.js'], 'src/a/w.ts': [] },
    check: 'folders',
    fails: /folder cycle: src\/a, src\/b, src\/c\n/
  },
  {
    name: 'a top-level file of src/ in a loop with a folder',
    files: { 'src/paths.ts': ['./a/x.js'], 'src/a/x.ts': ['../paths.js'] },
    check: 'folders',
    fails: /folder cycle: src\/a, src\/paths\.ts\n/
  },
  {
    name: 'a file cycle inside one folder',
    files: { 'src/a/x.ts': ['./y.js'], 'src/a/y.ts': ['./x.js'] },
    check: 'depcruise',
    fails: /error no-file-cycle: src\/a\/(x|y)\.ts/
  },
  {
    name: 'domain importing a feature folder',
    files: { 'src/domain/d.ts': ['../a/x.js'], 'src/a/x.ts': [] },
    check: 'depcruise',
    fails: /error domain-imports-nothing-of-ours: src\/domain\/d\.ts → src\/a\/x\.ts/
  },
  {
    name: 'errors importing a feature folder',
    files: { 'src/errors/e.ts': ['../domain/d.js', '../a/x.js'], 'src/domain/d.ts': [], 'src/a/x.ts': [] },
    check: 'depcruise',
    fails: /error errors-import-only-domain: src\/errors\/e\.ts → src\/a\/x\.ts/
  },
  {
    name: 'src importing test and bench',
    files: { 'src/a/x.ts': ['../../test/helper.js', '../../bench/run.js'], 'test/helper.ts': [], 'bench/run.ts': [] },
    check: 'depcruise',
    // Both imports reported, in whichever order depcruise lists them.
    fails: /^(?=[\s\S]*error src-not-into-test-or-bench: src\/a\/x\.ts → test\/helper\.ts)(?=[\s\S]*error src-not-into-test-or-bench: src\/a\/x\.ts → bench\/run\.ts)/
  },
  {
    name: 'an import of a file that does not exist',
    files: { 'src/a/x.ts': ['../b/moved-away.js'] },
    check: 'depcruise',
    fails: /error no-unresolvable: src\/a\/x\.ts → \.\.\/b\/moved-away\.js/
  }
]

// Each case is a child process that mostly waits on module loading: run them side by side.
t.jobs = 4

for (const c of cases) {
  t.test(c.name, async (t) => {
    const dir = tree(t, c.files)
    const result = await (c.check === 'folders' ? folderCycles(dir) : depcruise(dir))
    if (c.fails == null) {
      t.equal(result.code, 0, result.output)
      t.notMatch(result.output, /cycle:|error /)
    } else {
      t.not(result.code, 0, 'exits non-zero, so npm run lint fails')
      t.not(result.code, null, 'ran to the end (not killed by the timeout)')
      t.match(result.output, c.fails)
    }
  })
}
