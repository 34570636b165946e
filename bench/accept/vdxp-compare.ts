/**
 * sendEdoc versus POST /v1/documents on the same hub: `node --import tsx bench/accept/vdxp-compare.ts [--quick]`.
 *
 * Starts a real hub (`lienthong serve`, as bench/accept/run.ts does), registers a VDXP system for
 * G22 in its schema (the secret sealed under the key the hub derives from its demo signing key),
 * then accepts distinct signed 10 KB documents in alternating rounds, /v1 then /vdxp then /vdxp
 * then /v1 (so that warm-up and drift fall on both), each round a closed loop of 8 connections.
 * Prints a markdown table (documents/s, latency) to stdout; touches no docs file. The numbers
 * depend on the machine and on what else runs on it: compare the two lines of one run only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ROOT } from '../../test/helpers/example-pki.js'
import { VdxpClient } from '../../test/helpers/vdxp-client.js'
import { openPostgres } from '../../src/db/postgres-database.js'
import { insertVdxpSystem } from '../../src/store/vdxp-systems.js'
import { deriveVdxpKey, sealSecret } from '../../src/vdxp/secret-box.js'
import { makeBatches } from './documents.js'
import { DATABASE_URL, startHub } from './hub.js'
import { runLoad, type LoadResult } from './load.js'

const quick = process.argv.includes('--quick')
const PER_ROUND = quick ? 60 : 250
const WARMUP = quick ? 20 : 60
const CONNECTIONS = 8
const SENDER = '000.00.00.G22'

const dir = mkdtempSync(join(tmpdir(), 'bench-vdxp-'))
const hub = await startHub({ verifyQueue: 64 })
try {
  process.stderr.write(`signing ${WARMUP + 4 * PER_ROUND} documents of 10 KB...\n`)
  const [batch] = await makeBatches(dir, [{ label: '10 KB', targetBytes: 10 * 1024, count: WARMUP + 4 * PER_ROUND, firstNumber: 5_000_000 }])
  if (batch == null) throw new Error('no documents')
  const documents = batch.paths.map((p) => readFileSync(p))

  const db = await openPostgres({ connectionString: DATABASE_URL, schema: hub.schema, max: 1 })
  const secret = randomBytes(24).toString('base64')
  // The hub runs without LIENTHONG_VDXP_SECRET_KEY: its key comes from the demo hub signing key.
  const key = deriveVdxpKey(undefined, readFileSync(join(ROOT, 'certs-example', 'hub', 'signing-key.pem')))
  await insertVdxpSystem(db, { systemId: 'bench.g22', agencies: [SENDER], sealed: sealSecret(key, 'bench.g22', secret), allowDirectoryChanges: false, ipAllowList: [] })
  await db.close()
  // One client object for the whole run, as agency software keeps one.
  const client = new VdxpClient(`${hub.url}/vdxp`, 'bench.g22', secret)
  const vdxp = (document: Buffer): { headers: Record<string, string>, body: Buffer } =>
    client.sendEdocRequest(document, { from: SENDER, servicetype: 'eDoc', messagetype: 'edoc' })

  const run = async (via: 'v1' | 'vdxp', docs: Buffer[]): Promise<LoadResult> => {
    const result = await runLoad({ url: hub.url, apiKey: hub.apiKey, documents: docs, connections: CONNECTIONS, timeoutSeconds: 120, ...(via === 'vdxp' ? { vdxp } : {}) })
    if (result.errors > 0) throw new Error(`${via}: ${result.errors} errors, first: ${result.firstError ?? '?'}`)
    return result
  }
  await run('v1', documents.slice(0, WARMUP / 2))
  await run('vdxp', documents.slice(WARMUP / 2, WARMUP))
  const rounds: Array<'v1' | 'vdxp'> = ['v1', 'vdxp', 'vdxp', 'v1']
  const results: Record<'v1' | 'vdxp', LoadResult[]> = { v1: [], vdxp: [] }
  for (const [i, via] of rounds.entries()) {
    const slice = documents.slice(WARMUP + i * PER_ROUND, WARMUP + (i + 1) * PER_ROUND)
    results[via].push(await run(via, slice))
    process.stderr.write(`round ${i + 1}: ${via} ${(results[via].at(-1) as LoadResult).acceptedPerSecond.toFixed(1)} documents/s\n`)
  }
  const line = (label: string, rs: LoadResult[]): string => {
    const wall = rs.reduce((s, r) => s + r.wallMs, 0)
    const accepted = rs.reduce((s, r) => s + r.accepted, 0)
    const mean = (f: (r: LoadResult) => number): string => (rs.reduce((s, r) => s + f(r), 0) / rs.length).toFixed(1)
    return `| ${label} | ${accepted} | ${(accepted / (wall / 1000)).toFixed(1)} | ${mean((r) => r.latencyMs.p50)} | ${mean((r) => r.latencyMs.p99)} |`
  }
  process.stdout.write([
    `10 KB signed documents, ${CONNECTIONS} connections, ${PER_ROUND} per round, rounds v1, vdxp, vdxp, v1 (after ${WARMUP} warm-up documents)`,
    '',
    '| path | documents | accepted/s | p50 ms (mean of rounds) | p99 ms (mean of rounds) |',
    '|---|---|---|---|---|',
    line('POST /v1/documents', results.v1),
    line('POST /vdxp/sendEdoc', results.vdxp),
    ''
  ].join('\n'))
} finally {
  await hub.stop()
  rmSync(dir, { recursive: true, force: true })
}
