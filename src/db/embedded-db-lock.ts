import { hostname } from 'node:os'
import { mkdir, open, readFile, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { unlinkSync } from 'node:fs'

/**
 * One process at a time on an embedded (PGlite) database directory. PGlite is single-process: a
 * second process opening the directory while the hub runs (`lienthong audit verify` beside
 * `npm start`) crashed with `Aborted()`, once read an empty log, and wrote to the files. Every
 * opener takes `<pglite dir>.lock` (created exclusively, holding the pid, host, command and time)
 * BEFORE PGlite touches the directory; a live holder means "refuse, untouched". A lock whose
 * process is gone (killed hub) is taken over.
 */
export interface EmbeddedDatabaseLock {
  file: string
  release: () => Promise<void>
}

export interface LockHolder {
  pid: number
  host: string
  command: string
  since: string
}

/** Another live process holds the directory; `message` says who and what to do. */
export class EmbeddedDatabaseBusy extends Error {
  constructor (readonly holder: LockHolder, readonly dir: string) {
    super(busyMessage(holder, dir))
    this.name = 'EmbeddedDatabaseBusy'
  }
}

const HUB_COMMANDS = /^(start|serve|worker)\b/

function busyMessage (holder: LockHolder, dir: string): string {
  const who = `pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''}, \`lienthong ${holder.command}\` since ${holder.since}`
  if (HUB_COMMANDS.test(holder.command)) {
    return `the hub is running on the embedded database ${dir} (${who}); the embedded database serves one process at a time, so nothing was read or written. ` +
      'Stop the hub first (Ctrl-C in its terminal, or SIGTERM), then run this again; to audit a hub while it runs, run it on PostgreSQL (DATABASE_URL) and give --database-url'
  }
  return `the embedded database ${dir} is in use by another lienthong command (${who}); nothing was read or written. Wait for it to finish and run this again`
}

/** Lock files this process holds (a stale lock may carry our pid: pid 1 in a restarted container). */
const held = new Set<string>()

export function lockFileOf (dir: string): string {
  return `${dir.replace(/[/\\]+$/, '')}.lock`
}

/** Takes the lock of the PGlite directory `dir` for this process, or throws EmbeddedDatabaseBusy. */
export async function lockEmbeddedDatabase (dir: string, command = process.argv.slice(2).join(' ') || 'node'): Promise<EmbeddedDatabaseLock> {
  const file = lockFileOf(dir)
  await mkdir(dirname(file), { recursive: true })
  const mine: LockHolder = { pid: process.pid, host: hostname(), command: command.slice(0, 200), since: new Date().toISOString() }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx')
      try {
        await handle.writeFile(JSON.stringify(mine) + '\n')
      } finally {
        await handle.close()
      }
      held.add(file)
      // The process is exiting: a lock file that cannot be removed is stale and taken over at the next start.
      const onExit = (): void => { try { unlinkSync(file) } catch {} }
      process.once('exit', onExit)
      let released = false
      return {
        file,
        release: async () => {
          if (released) return
          released = true
          held.delete(file)
          process.removeListener('exit', onExit)
          const holder = await readHolder(file)
          // Already gone, or left behind: stale either way, and taken over at the next start.
          if (holder?.pid === mine.pid && holder.since === mine.since) await unlink(file).catch(() => {})
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await readHolder(file)
    if (holder != null && (held.has(file) || isAlive(holder))) throw new EmbeddedDatabaseBusy(holder, dir)
    // Stale (its process is gone) or half-written: take it over.
    // Another process may have removed it first: the next exclusive create decides.
    await unlink(file).catch(() => {})
  }
  throw new Error(`cannot take the lock ${file}`)
}

async function readHolder (file: string): Promise<LockHolder | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as LockHolder
    return Number.isSafeInteger(value.pid) ? value : undefined
  } catch {
    return undefined
  }
}

function isAlive (holder: LockHolder): boolean {
  // A lock from another host (a shared directory) cannot be checked: believe it.
  if (holder.host !== hostname()) return true
  if (holder.pid === process.pid) return false
  try {
    process.kill(holder.pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
