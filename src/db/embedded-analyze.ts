import type { Queryable } from './database.js'

/**
 * Planner statistics for the embedded database. On PostgreSQL, autovacuum ANALYZEs a table once
 * it has grown by about 10%; PGlite runs a single backend inside this process, with no autovacuum,
 * so without this its tables would keep, for ever, the statistics they had when they were created
 * (none). Without statistics the accept path's duplicate check (findDuplicate: same digest, or same
 * sender + DocumentId) was planned through documents_sender_time_id and read every earlier document
 * of the sender: 5.8 ms per accepted document after 6,000 documents of one sender, growing with
 * every document; with statistics it reads one row of the unique documents_sender_edxml_id
 * (test/db/embedded-analyze.test.ts).
 *
 * The rule is autovacuum's in spirit, counted in pages because a page count is free to read
 * (pg_relation_size) where a row count is not: a table of the current schema is analysed when it
 * has more than GROWTH x the pages the last ANALYZE saw, plus SLACK_PAGES (so a new table is
 * analysed once it holds a few hundred rows, and then at every ~10% of growth).
 */
const GROWTH = 1.1
const SLACK_PAGES = 8
export const EMBEDDED_ANALYZE_INTERVAL_MS = 30_000

/** Analyses the tables of the current schema that grew past the rule; returns their names. */
export async function analyzeGrownTables (db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c
      WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
        AND pg_relation_size(c.oid) / current_setting('block_size')::int > greatest(c.relpages, 0) * $1::float8 + $2::int
      ORDER BY c.relname`, [GROWTH, SLACK_PAGES])
  for (const { relname } of rows) {
    // A name from pg_class of our own schema, quoted as an identifier all the same.
    await db.query(`ANALYZE "${relname.replaceAll('"', '""')}"`)
  }
  return rows.map((r) => r.relname)
}

/**
 * Runs analyzeGrownTables every intervalMs (the timer does not keep the process alive; rounds never
 * overlap). A failed round is left for the next: statistics are an optimisation, never a reason to
 * stop. `stop` waits for a round in progress, so the database can be closed right after it.
 */
export function startEmbeddedAnalyze (db: Queryable, intervalMs = EMBEDDED_ANALYZE_INTERVAL_MS): { stop: () => Promise<void> } {
  let running: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    running = running.then(async () => await analyzeGrownTables(db)).catch(() => {})
  }, intervalMs)
  timer.unref()
  return {
    stop: async () => {
      clearInterval(timer)
      await running
    }
  }
}
