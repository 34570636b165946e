import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { removeExpiredContent } from '../../src/retention/remove-expired-content.js'
import { CLI, childEnv } from '../helpers/cli.js'
import { ROOT } from '../helpers/example-pki.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { databaseUrlOf } from '../helpers/hub-process.js'
import { PUSH_RECIPIENT, SENDER, signedDocument } from '../helpers/ops-fixtures.js'
import type { TestPostgres } from '../helpers/database.js'

// Retention removes the signed bytes of finished documents past the period, and nothing else:
// digests, receipts, the delivery trail and the signature log stay; open deliveries keep theirs.

const PULLERS = ['000.00.00.G12', '000.00.00.H41']
const run = promisify(execFile)

async function submit (hub: TestHub, n: number): Promise<{ id: string, recipients: Array<{ code: string, deliveryId: string }> }> {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${hub.keys[SENDER]!}` }, payload: signedDocument(n).bytes })
  if (res.statusCode !== 202) throw new Error(res.body)
  return res.json()
}

/** Every delivery finished: pulled ones acknowledged through the API, the push one given up. */
async function finish (hub: TestHub, doc: Awaited<ReturnType<typeof submit>>): Promise<void> {
  for (const r of doc.recipients) {
    if (PULLERS.includes(r.code)) {
      const res = await hub.app.inject({ method: 'POST', url: `/v1/inbox/${r.deliveryId}/ack`, headers: { authorization: `Bearer ${hub.keys[r.code]!}` }, payload: { result: 'done' } })
      if (res.statusCode !== 200) throw new Error(res.body)
    }
  }
  await hub.db.query('UPDATE deliveries SET state = \'failed\' WHERE document_id = $1 AND recipient_code = $2', [doc.id, PUSH_RECIPIENT])
}

const age = async (hub: TestHub, id: string, days: number): Promise<void> => {
  await hub.db.query('UPDATE documents SET accepted_at = now() - make_interval(days => $2::int) WHERE id = $1', [id, days])
}

t.test('old and finished loses its bytes; old but open, and recent, keep theirs; evidence stays', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const oldFinished = await submit(hub, 9_100_001)
  const oldOpen = await submit(hub, 9_100_002)
  const recentFinished = await submit(hub, 9_100_003)
  await finish(hub, oldFinished)
  await finish(hub, recentFinished)
  await age(hub, oldFinished.id, 40)
  await age(hub, oldOpen.id, 40)

  t.equal(await removeExpiredContent(hub.db, { retentionDays: 30, dryRun: true }), 1, 'dry run counts one')
  t.ok((await hub.db.query('SELECT 1 FROM documents WHERE raw IS NULL')).rows.length === 0, 'and removes nothing')
  t.equal(await removeExpiredContent(hub.db, { retentionDays: 30, batch: 1 }), 1)
  t.equal(await removeExpiredContent(hub.db, { retentionDays: 30 }), 0, 'a second run finds nothing')

  const { rows } = await hub.db.query<{ id: string, kept: boolean, removed: Date | null, digest: string }>(
    'SELECT id, raw IS NOT NULL AS kept, raw_removed_at AS removed, digest_sha256 AS digest FROM documents')
  const byId = new Map(rows.map((r) => [r.id, r]))
  t.same([byId.get(oldFinished.id)?.kept, byId.get(oldOpen.id)?.kept, byId.get(recentFinished.id)?.kept], [false, true, true])
  t.ok(byId.get(oldFinished.id)?.removed instanceof Date, 'when it was removed is recorded')
  t.equal(byId.get(oldFinished.id)?.digest, signedDocument(9_100_001).sha256, 'the digest stays')

  const auth = { authorization: `Bearer ${hub.keys[SENDER]!}` }
  const raw = await hub.app.inject({ url: `/v1/documents/${oldFinished.id}/raw`, headers: auth })
  t.equal(raw.statusCode, 410)
  t.equal(raw.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(raw.json<{ code: string }>().code, 'CONTENT_EXPIRED')
  const puller = oldFinished.recipients.find((r) => r.code === PULLERS[0])!
  const again = await hub.app.inject({ url: `/v1/inbox/${puller.deliveryId}`, headers: { authorization: `Bearer ${hub.keys[puller.code]!}` } })
  t.equal(again.statusCode, 410, 'a recipient downloading again is told why')
  t.equal((await hub.app.inject({ url: `/v1/documents/${oldOpen.id}/raw`, headers: auth })).statusCode, 200, 'open deliveries keep the bytes')

  const view = await hub.app.inject({ url: `/v1/documents/${oldFinished.id}`, headers: auth })
  t.equal(view.statusCode, 200, 'the document record stays')
  t.same(view.json<{ receipts: Array<{ kind: string }> }>().receipts.map((r) => r.kind).sort(), ['acceptance', 'delivery', 'delivery'])
  t.equal((await hub.app.inject({ url: `/v1/documents/${oldFinished.id}/receipts/acceptance`, headers: auth })).statusCode, 200, 'receipts stay')
  t.equal((await verifySignatureLogChain(hub.db)).ok, true, 'the signature log is untouched')

  const pushDelivery = oldFinished.recipients.find((r) => r.code === PUSH_RECIPIENT)!
  const resend = await hub.app.inject({ method: 'POST', url: `/v1/deliveries/${pushDelivery.deliveryId}/resend`, headers: auth })
  t.equal(resend.statusCode, 409, 'a failed delivery whose bytes are gone cannot be resent')
  t.match(resend.json<{ detail: string }>().detail, /retention/)
})

t.test('lienthong retention run: dry run and run from the command line', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const doc = await submit(hub, 9_100_010)
  await finish(hub, doc)
  await age(hub, doc.id, 10)
  const env = childEnv({ DATABASE_URL: databaseUrlOf(hub.db as TestPostgres), LIENTHONG_LOG_LEVEL: 'warn' })
  const cli = async (...args: string[]): Promise<string> => (await run(process.execPath, [CLI, 'retention', 'run', ...args], { cwd: ROOT, env })).stdout
  t.match(await cli('--days', '5', '--dry-run'), /^1 documents older than 5 days would lose their signed bytes/)
  t.match(await cli('--days', '30'), /^removed the signed bytes of 0 documents/)
  t.match(await cli('--days', '5'), /^removed the signed bytes of 1 documents/)
  const err = await run(process.execPath, [CLI, 'retention', 'run'], { cwd: ROOT, env: { ...env, LIENTHONG_RETENTION_DAYS: '' } }).catch((e: { code: number, stderr: string }) => e)
  t.equal((err as { code: number }).code, 2, 'no period: exit 2')
  t.match((err as { stderr: string }).stderr, /--days or set LIENTHONG_RETENTION_DAYS/)
})
