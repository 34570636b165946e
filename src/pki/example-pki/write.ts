// Writes the example PKI files, refusing to mix them into a non-empty directory unless forced.
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { ExamplePkiFile } from './files.js'

export class DirectoryNotEmptyError extends Error {
  constructor (readonly dir: string) {
    super(`${dir} is not empty; refusing to write the example PKI into it (--force overwrites)`)
    this.name = 'DirectoryNotEmptyError'
  }
}

async function isNonEmptyDir (dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

/** Throws {@link DirectoryNotEmptyError} unless `dir` is missing, empty, or `force` is set. */
export async function assertWritable (dir: string, force: boolean): Promise<void> {
  if (!force && await isNonEmptyDir(dir)) throw new DirectoryNotEmptyError(dir)
}

export async function writeExamplePkiFiles (dir: string, files: readonly ExamplePkiFile[], force: boolean): Promise<void> {
  await assertWritable(dir, force)
  for (const file of files) {
    const path = join(dir, file.path)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, file.content, { mode: file.secret ? 0o600 : 0o644 })
  }
}
