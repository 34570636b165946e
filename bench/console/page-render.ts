// `npm run bench:console`: a console page of 50 documents with 1,000,000 documents in PostgreSQL,
// navigation start to load event in headless Chromium (docs/benchmarks.md, "Console pages").
// Baseline in the same run: the login page (no query), so a loaded machine shows as such.
import { loadavg } from 'node:os'
import { signIn, startConsoleHub, CLERK_AGENCY } from './harness.js'

const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 1_000_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const OTHERS = ['000.00.00.G12', '000.00.00.H41', '000.00.00.H29']

const hub = await startConsoleHub()
try {
  const db = hub.hub.db
  const started = Date.now()
  // One set-based statement per table: 1,000,000 documents a quarter of them sent by the clerk's
  // agency, one delivery each; no signature-log rows (the pages read documents and deliveries).
  await db.query(`INSERT INTO documents (id, kind, sender_code, edxml_document_id, digest_sha256, size_bytes, envelope, signer, algorithms, accepted_at)
    SELECT md5('doc' || i)::uuid, 'document', (ARRAY[$2, $3, $4, $5])[1 + i % 4], 'bench-' || i, md5('digest' || i) || md5('d' || i), 1000,
           jsonb_build_object('code', jsonb_build_object('number', i::text, 'notation', 'UBND-VP'), 'subject', 'Văn bản thử nghiệm số ' || i),
           '{}', '{}', now() - make_interval(secs => i)
    FROM generate_series(1, $1::int) AS i`, [DOCUMENTS, CLERK_AGENCY, ...OTHERS])
  // A delivery is created when its document is accepted (the same statement), so created_at is
  // the document's accepted_at, as the received list's index (recipient, created_at) sees it live.
  await db.query(`INSERT INTO deliveries (id, document_id, recipient_code, mode, state, enqueued, attempts, created_at, updated_at)
    SELECT md5('delivery' || i)::uuid, md5('doc' || i)::uuid, (ARRAY[$2, $3, $4, $5])[1 + (i + 1) % 4], 'push',
           (ARRAY['delivered', 'failed', 'queued', 'acknowledged'])[1 + i % 4], true, 1, now() - make_interval(secs => i), now() - make_interval(secs => i)
    FROM generate_series(1, $1::int) AS i`, [DOCUMENTS, CLERK_AGENCY, ...OTHERS])
  await db.query('ANALYZE documents'); await db.query('ANALYZE deliveries')
  process.stdout.write(`generated ${DOCUMENTS} documents and deliveries in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)

  const measure = async (who: 'clerk' | 'auditor', path: string): Promise<number[]> => {
    const page = await signIn(hub, who)
    await page.goto(path) // warm-up (connection, plan cache)
    const times: number[] = []
    for (let i = 0; i < RUNS; i++) {
      await page.goto(path, { waitUntil: 'load' })
      const rows = await page.locator('tbody tr').count()
      if (/\/sent$/.test(path) && rows !== 50) throw new Error(`${path}: ${rows} rows, expected 50`)
      times.push(await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
        return nav.loadEventStart - nav.startTime
      }))
    }
    await page.context().close()
    return times.sort((a, b) => a - b)
  }
  const pct = (xs: number[], p: number): string => (xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number).toFixed(0)
  const cases: Array<[string, 'clerk' | 'auditor', string]> = [
    ['login page (baseline, no query)', 'clerk', '/console/login'],
    ['clerk: sent, first page', 'clerk', '/console/sent'],
    ['clerk: received, first page', 'clerk', '/console/received'],
    ['clerk: sent, filtered by number', 'clerk', '/console/sent?number=99996'],
    ['clerk: sent, filtered by subject (one match)', 'clerk', `/console/sent?subject=${encodeURIComponent('số 999996')}`],
    ['clerk: sent, filtered by subject (every row matches)', 'clerk', `/console/sent?subject=${encodeURIComponent('thử nghiệm')}`],
    ['clerk: received, filtered by state (none match)', 'clerk', '/console/received?state=failed'],
    ['clerk: received, filtered by number/notation', 'clerk', '/console/received?number=99997%2FUBND'],
    ['auditor: all sent, first page', 'auditor', '/console/sent']
  ]
  process.stdout.write(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${RUNS} runs each; navigation start to load event, ms\n`)
  process.stdout.write('| page | median | p90 | max |\n|---|---|---|---|\n')
  for (const [name, who, path] of cases) {
    const times = await measure(who, path)
    process.stdout.write(`| ${name} | ${pct(times, 0.5)} | ${pct(times, 0.9)} | ${pct(times, 1)} |\n`)
  }
  process.stdout.write(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
} finally {
  await hub.close()
}
