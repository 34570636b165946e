import t from 'tap'
import { migrate } from '../../src/db/migrate.js'
import { openPostgres } from '../../src/db/postgres-database.js'
import type { Database } from '../../src/db/database.js'
import { TEST_DATABASE_URL, migrationScript, testDatabase, uniqueSchemaName } from '../helpers/database.js'

// testDatabase() builds its schemas from one script of all migration files (test/helpers/database.ts),
// not by migrate(): every test on PostgreSQL stands on it, so the schema must be exactly what
// migrate() makes, catalog entry for catalog entry, and migrate() must find nothing left to apply.

/** Everything a schema defines, as sorted text, the schema's own name replaced by `S`. */
async function catalog (db: Database, schema: string): Promise<Record<string, string[]>> {
  const queries: Record<string, string> = {
    columns: `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-') || ' ' || ordinal_position AS d
              FROM information_schema.columns WHERE table_schema = $1`,
    relations: 'SELECT c.relname || \' \' || c.relkind::text || \' \' || c.relpersistence::text AS d FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1',
    indexes: 'SELECT indexdef AS d FROM pg_indexes WHERE schemaname = $1',
    constraints: `SELECT r.conname || ' ' || c.relname || ' ' || pg_get_constraintdef(r.oid) AS d
                  FROM pg_constraint r JOIN pg_namespace n ON n.oid = r.connamespace LEFT JOIN pg_class c ON c.oid = r.conrelid WHERE n.nspname = $1`,
    triggers: `SELECT pg_get_triggerdef(g.oid) AS d FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = $1 AND NOT g.tgisinternal`,
    functions: 'SELECT pg_get_functiondef(p.oid) AS d FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1',
    views: 'SELECT c.relname || \' \' || pg_get_viewdef(c.oid) AS d FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN (\'v\', \'m\')',
    types: `SELECT t.typname || ' ' || t.typtype::text || ' ' || coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '') AS d
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1`,
    sequences: 'SELECT sequencename || \' \' || data_type || \' \' || start_value || \' \' || increment_by || \' \' || coalesce(last_value, 0) AS d FROM pg_sequences WHERE schemaname = $1',
    comments: `SELECT c.relname || ' ' || coalesce(a.attname, '') || ' ' || d.description AS d FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
               JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid WHERE n.nspname = $1`
  }
  const out: Record<string, string[]> = {}
  for (const [name, sql] of Object.entries(queries)) {
    const { rows } = await db.query<{ d: string }>(sql, [schema])
    out[name] = rows.map((r) => r.d.replaceAll(schema, 'S')).sort()
  }
  out.data = []
  for (const { d: table } of (await db.query<{ d: string }>('SELECT table_name AS d FROM information_schema.tables WHERE table_schema = $1 AND table_type = \'BASE TABLE\' ORDER BY 1', [schema])).rows) {
    const columns = table === 'schema_migrations' ? 'name' : '*'
    const { rows } = await db.query(`SELECT ${columns} FROM ${schema}."${table}"`)
    out.data.push(...rows.map((r) => `${table} ${JSON.stringify(r)}`).sort())
  }
  return out
}

t.test('testDatabase() gives exactly the schema migrate() makes', async (t) => {
  const fast = await testDatabase(t)
  const schema = uniqueSchemaName()
  const real = await openPostgres({ connectionString: TEST_DATABASE_URL, schema })
  t.teardown(async () => {
    try { await real.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) } finally { await real.close() }
  })
  const applied = await migrate(real)
  t.ok(applied.length > 20, `migrate() applied every file (${applied.length})`)
  t.same(await migrate(fast), [], 'migrate() finds nothing to apply on a testDatabase() schema')
  const [want, got] = [await catalog(real, schema), await catalog(fast, fast.schema)]
  t.ok(want.columns!.length > 100 && want.functions!.length > 0, 'the comparison sees the schema (columns, functions)')
  for (const part of Object.keys(want)) t.same(got[part], want[part], `${part} equal`)
})

t.test('the script is one transaction: a failure in it leaves no table and no schema_migrations row behind', async (t) => {
  const schema = uniqueSchemaName()
  const db = await openPostgres({ connectionString: TEST_DATABASE_URL, schema })
  t.teardown(async () => {
    try { await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) } finally { await db.close() }
  })
  await t.rejects(db.query(`${migrationScript()};\nSELECT no_such_function()`), /no_such_function/)
  t.same((await db.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema])).rows, [], 'nothing half-written')
})
