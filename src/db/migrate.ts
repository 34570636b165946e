import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Database } from './database.js'

// Plain SQL files, applied in name order, each once, each in its own transaction. They live
// beside the code in src/db/migrations (copied to dist/db/migrations by the build).
const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))

export async function migrate (db: Database): Promise<string[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`)
  // Several gateways may start at once against one PostgreSQL: serialise the migrations.
  const applied: string[] = []
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort()
  for (const file of files) {
    const sql = await readFile(MIGRATIONS_DIR + file, 'utf8')
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(727001)')
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE name = $1', [file])
      if (done.rows.length > 0) return
      for (const statement of splitStatements(sql)) await tx.query(statement)
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file])
      applied.push(file)
    })
  }
  return applied
}

/** Splits on `;` at line ends, keeping `$$ ... $$` function bodies whole. */
function splitStatements (sql: string): string[] {
  const out: string[] = []
  let current = ''
  let inBody = false
  for (const line of sql.split('\n')) {
    if (line.trim().startsWith('--') && !inBody) continue
    current += line + '\n'
    if ((line.match(/\$\$/g) ?? []).length % 2 === 1) inBody = !inBody
    if (!inBody && line.trimEnd().endsWith(';')) {
      out.push(current.trim())
      current = ''
    }
  }
  if (current.trim() !== '') out.push(current.trim())
  return out
}
