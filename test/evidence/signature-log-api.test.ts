import t from 'tap'
import { createHash, randomUUID } from 'node:crypto'
import { appendSignatureLog, type SignatureLogEntryInput } from '../../src/evidence/signature-log.js'
import { issueCheckpoint, verifyCheckpoint } from '../../src/evidence/signature-log-checkpoints.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'
import { bulkAppend } from '../helpers/signature-log-bulk.js'

// The 100,000-entry export, on a machine shared with other test processes.
t.setTimeout(900_000)

interface Entry { id: number, loggedAt: string, claimedAgency?: string, verdict: string, reasonCode?: string, flags: string[], entryHash: string, prevHash: string }
interface Page { entries: Entry[], next: string | null }

const G22 = '000.00.00.G22'
const H41 = '000.00.00.H41'
const G12 = '000.00.00.G12'
const FP_A = 'aa'.repeat(32)
const FP_B = 'bb'.repeat(32)
const DOC = randomUUID()

/** The seeded entries, each with the facts the filters test for (an oracle independent of SQL). */
interface Seed { input: SignatureLogEntryInput, id?: number }
function seeds (): Seed[] {
  const out: Seed[] = []
  const base = Date.UTC(2026, 2, 1)
  for (let i = 0; i < 30; i++) {
    const rejected = i % 3 === 0
    const signer = i % 2 === 0
      ? { subject: `CN=Signer ${i}`, issuer: 'CN=Issuing CA Bộ Nội vụ, O=Gov', serialNumber: (0x1000 + i).toString(16), fingerprintSha256: i < 10 ? FP_A : FP_B, notBefore: '2025-01-01T00:00:00.000Z', notAfter: '2028-01-01T00:00:00.000Z' }
      : undefined
    out.push({
      input: {
        loggedAt: new Date(base + i * 3_600_000),
        claimedAgency: [G22, H41, G12][i % 3] as string,
        authenticatedAgency: i === 7 ? H41 : [G22, H41, G12][i % 3] as string,
        edxmlDocumentId: `doc-${i}`,
        ...(i === 4 ? { hubDocumentId: DOC } : {}),
        digestSha256: createHash('sha256').update(`seed ${i}`).digest('hex'),
        sizeBytes: 100 + i,
        ...(signer != null ? { signer } : {}),
        verdict: rejected ? 'rejected' : i % 5 === 1 ? 'duplicate' : 'accepted',
        ...(rejected ? { reasonCode: i % 2 === 0 ? 'CERT_REVOKED' : 'DIGEST_MISMATCH', detail: `=HYPERLINK("x") refused ${i}` } : {}),
        flags: i % 4 === 2 ? ['weak'] : []
      }
    })
  }
  return out
}

async function seedLog (hub: TestHub): Promise<Seed[]> {
  const all = seeds()
  for (const s of all) s.id = (await hub.db.transaction(async (tx) => await appendSignatureLog(tx, s.input))).id
  return all
}

async function setup (t: Tap): Promise<{ hub: TestHub, get: (url: string, role?: 'auditor' | 'admin' | 'clerk') => Promise<{ statusCode: number, body: string, headers: Record<string, unknown>, json: <T>() => T }> }> {
  const hub = await testHub(t, { redisUrl: null })
  const tokens = {
    auditor: (await testUser(hub.db, 'auditor', 'auditor')).token,
    admin: (await testUser(hub.db, 'admin', 'admin')).token,
    clerk: (await testUser(hub.db, 'clerk.h41', 'clerk', H41)).token
  }
  const get = async (url: string, role: 'auditor' | 'admin' | 'clerk' = 'auditor') => {
    const res = await hub.app.inject({ url, headers: { authorization: `Bearer ${tokens[role]}` } })
    return { statusCode: res.statusCode, body: res.body, headers: res.headers, json: <T>() => res.json<T>() }
  }
  return { hub, get }
}
type Tap = Parameters<typeof testHub>[0]

t.test('filters: each alone and combined select exactly the matching entries, newest first', async (t) => {
  const { hub, get } = await setup(t)
  const all = await seedLog(hub)
  const time = (s: Seed): number => (s.input.loggedAt as Date).getTime()
  const cases: Array<{ name: string, query: string, match: (s: Seed) => boolean }> = [
    { name: 'no filter', query: '', match: () => true },
    { name: 'time range [from, to)', query: 'from=2026-03-01T05:00:00.000Z&to=2026-03-01T12:00:00.000Z', match: (s) => time(s) >= Date.UTC(2026, 2, 1, 5) && time(s) < Date.UTC(2026, 2, 1, 12) },
    { name: 'agency (claimed or authenticated)', query: `agency=${H41}`, match: (s) => s.input.claimedAgency === H41 || s.input.authenticatedAgency === H41 },
    { name: 'verdict rejected', query: 'verdict=rejected', match: (s) => s.input.verdict === 'rejected' },
    { name: 'verdict duplicate', query: 'verdict=duplicate', match: (s) => s.input.verdict === 'duplicate' },
    { name: 'reason code', query: 'reasonCode=CERT_REVOKED', match: (s) => s.input.reasonCode === 'CERT_REVOKED' },
    { name: 'fingerprint, upper case with colons', query: `certFingerprint=${FP_B.toUpperCase().match(/../g)?.join(':') ?? ''}`, match: (s) => s.input.signer?.fingerprintSha256 === FP_B },
    { name: 'serial', query: 'certSerial=100A', match: (s) => s.input.signer?.serialNumber === '100a' },
    { name: 'issuer substring, any case, Vietnamese', query: `certIssuer=${encodeURIComponent('bộ nội')}`, match: (s) => s.input.signer != null },
    { name: 'issuer that is a LIKE pattern matches literally', query: 'certIssuer=%25', match: () => false },
    { name: 'hub document id', query: `documentId=${DOC}`, match: (s) => s.input.hubDocumentId === DOC },
    { name: 'edXML document id', query: 'documentId=doc-17', match: (s) => s.input.edxmlDocumentId === 'doc-17' },
    { name: 'weak only', query: 'weak=true', match: (s) => (s.input.flags ?? []).includes('weak') },
    { name: 'not weak', query: 'weak=false', match: (s) => !(s.input.flags ?? []).includes('weak') },
    { name: 'combined: agency, rejected, range', query: `agency=${G22}&verdict=rejected&from=2026-03-01T06:00:00.000Z`, match: (s) => (s.input.claimedAgency === G22 || s.input.authenticatedAgency === G22) && s.input.verdict === 'rejected' && time(s) >= Date.UTC(2026, 2, 1, 6) },
    { name: 'nothing matches', query: 'reasonCode=SENDER_MISMATCH', match: () => false }
  ]
  for (const c of cases) {
    const res = await get(`/api/signature-log?limit=500&${c.query}`)
    t.equal(res.statusCode, 200, `${c.name}: 200`)
    const expected = all.filter(c.match).map((s) => s.id).reverse()
    t.same(res.json<Page>().entries.map((e) => e.id), expected, `${c.name}: ${expected.length} entries`)
  }
  const invalid = ['verdict=maybe', 'from=yesterday', 'certFingerprint=xyz', 'limit=0', 'limit=501', 'colour=red', 'after=bm90LWEtY3Vyc29y', 'reasonCode=lower']
  for (const q of invalid) {
    const res = await get(`/api/signature-log?${q}`)
    t.match([res.statusCode, res.json<{ code: string }>().code], [400, 'BAD_REQUEST'], `${q}: 400 BAD_REQUEST`)
  }
})

t.test('keyset pages are stable while entries are appended between them', async (t) => {
  const { hub, get } = await setup(t)
  const all = await seedLog(hub)
  const seen: number[] = []
  let url = '/api/signature-log?limit=7&verdict=accepted'
  let extra = 0
  for (let pages = 0; pages < 20; pages++) {
    const page = (await get(url)).json<Page>()
    seen.push(...page.entries.map((e) => e.id))
    // Newer entries (matching the filter) arrive while the auditor reads.
    for (let k = 0; k < 3; k++) {
      await hub.db.transaction(async (tx) => await appendSignatureLog(tx, { digestSha256: `new-${extra++}`, sizeBytes: 1, verdict: 'accepted' }))
    }
    if (page.next == null) break
    url = `/api/signature-log?limit=7&verdict=accepted&after=${page.next}`
  }
  const expected = all.filter((s) => s.input.verdict === 'accepted').map((s) => s.id).reverse()
  t.same(seen, expected, 'every entry present at the start exactly once, in order; none of the new ones')
  t.equal(new Set(seen).size, seen.length, 'no duplicates')
  t.ok(extra > 0)
})

t.test('export: CSV and NDJSON of a filter, and 100,000 entries streamed and counted', async (t) => {
  const { hub, get } = await setup(t)
  const all = await seedLog(hub)
  const csv = await get(`/api/signature-log/export?format=csv&agency=${G22}`)
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  t.match(csv.headers['content-disposition'], /^attachment; filename="signature-log-.*\.csv"$/)
  const lines = csv.body.split('\r\n').filter((l) => l !== '')
  t.equal(lines[0], 'id,logged_at,verdict,reason_code,claimed_agency,authenticated_agency,edxml_document_id,hub_document_id,digest_sha256,size_bytes,cert_subject,cert_issuer,cert_serial,cert_fingerprint,cert_not_before,cert_not_after,flags,detail,request_id,prev_hash,entry_hash')
  const g22 = all.filter((s) => s.input.claimedAgency === G22 || s.input.authenticatedAgency === G22)
  t.same(lines.slice(1).map((l) => Number(l.split(',')[0])), g22.map((s) => s.id), 'oldest first, only the filter\'s entries')
  t.ok(lines.some((l) => l.includes('"\'=HYPERLINK(""x"") refused')), 'a formula-like cell is quoted and defused with an apostrophe')
  const nd = await get('/api/signature-log/export?format=ndjson&verdict=rejected')
  t.match(nd.headers['content-type'], /^application\/x-ndjson/)
  const objects = nd.body.trim().split('\n').map((l) => JSON.parse(l) as Entry & { detail: string })
  t.same(objects.map((o) => o.id), all.filter((s) => s.input.verdict === 'rejected').map((s) => s.id))
  t.match(objects[0]?.detail, /^=HYPERLINK/, 'NDJSON keeps values exactly')

  await bulkAppend(hub.db, 100_000, (i) => ({ claimed_agency: i % 2 === 0 ? G12 : G22 }))
  const big = await get('/api/signature-log/export?format=csv')
  const count = big.body.split('\r\n').filter((l) => l !== '').length - 1
  t.equal(count, 100_000 + all.length, 'every entry once (header excluded)')
  const half = await get(`/api/signature-log/export?format=ndjson&agency=${G12}&from=2026-01-01T00:00:00.000Z&to=2026-02-01T00:00:00.000Z`)
  const ndCount = half.body.split('\n').filter((l) => l !== '').length
  t.equal(ndCount, 50_000, 'a filtered NDJSON export of the bulk entries')
})

t.test('one entry with its chain neighbours', async (t) => {
  const { hub, get } = await setup(t)
  const all = await seedLog(hub)
  const ids = all.map((s) => s.id as number)
  const cases = [
    { name: 'first entry', id: ids[0], previous: null, next: ids[1], previousLinks: null, nextLinks: true },
    { name: 'middle entry', id: ids[10], previous: ids[9], next: ids[11], previousLinks: true, nextLinks: true },
    { name: 'head', id: ids[29], previous: ids[28], next: null, previousLinks: true, nextLinks: null }
  ]
  for (const c of cases) {
    const res = await get(`/api/signature-log/${String(c.id)}`)
    const body = res.json<{ entry: Entry, previous: Entry | null, next: Entry | null, links: Record<string, unknown> }>()
    t.equal(body.entry.id, c.id, c.name)
    t.equal(body.previous?.id ?? null, c.previous, `${c.name}: previous`)
    t.equal(body.next?.id ?? null, c.next, `${c.name}: next`)
    t.same(body.links, { hashValid: true, previousLinks: c.previousLinks, nextLinks: c.nextLinks }, `${c.name}: links`)
  }
  t.match([(await get('/api/signature-log/999999')).statusCode], [404])
  t.match([(await get('/api/signature-log/abc')).statusCode], [400])
})

t.test('integrity: intact, then a modified row, a deleted row, a reordered pair, a truncated tail', async (t) => {
  type Report = { ok: boolean, headId: number, range: { ok: boolean, checked: number, broken: { id: number, reason: string } | null }, checkpoint: { consistent: boolean | null, signatureValid: boolean } | null }
  const tamperings: Array<{ name: string, tamper: (db: TestHub['db'], ids: number[]) => Promise<void>, broken: (ids: number[]) => { id: number, reason: string } | null, consistent: boolean | null, checked: number }> = [
    { name: 'untouched', tamper: async () => {}, broken: () => null, consistent: true, checked: 30 },
    { name: 'a modified row', tamper: async (db, ids) => { await db.query('UPDATE signature_log SET detail = $1 WHERE id = $2', ['edited', ids[12]]) }, broken: (ids) => ({ id: ids[12] as number, reason: 'hash-mismatch' }), consistent: null, checked: 12 },
    { name: 'a deleted row', tamper: async (db, ids) => { await db.query('DELETE FROM signature_log WHERE id = $1', [ids[5]]) }, broken: (ids) => ({ id: ids[6] as number, reason: 'link-broken' }), consistent: null, checked: 5 },
    {
      name: 'a reordered pair (two rows swap places)',
      tamper: async (db, ids) => {
        await db.query('UPDATE signature_log SET id = -1 WHERE id = $1', [ids[20]])
        await db.query('UPDATE signature_log SET id = $1 WHERE id = $2', [ids[20], ids[21]])
        await db.query('UPDATE signature_log SET id = $1 WHERE id = -1', [ids[21]])
      },
      broken: (ids) => ({ id: ids[20] as number, reason: 'link-broken' }),
      consistent: null,
      checked: 20
    },
    { name: 'a truncated tail after the checkpoint', tamper: async (db, ids) => { await db.query('DELETE FROM signature_log WHERE id > $1', [ids[26]]) }, broken: () => null, consistent: false, checked: 27 }
  ]
  for (const c of tamperings) {
    await t.test(c.name, async (t) => {
      const { hub, get } = await setup(t)
      const ids = (await seedLog(hub)).map((s) => s.id as number)
      const issued = await issueCheckpoint(hub.db, hub.context.hub)
      t.ok(issued.issued)
      await hub.db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
      await c.tamper(hub.db, ids)
      const report = (await get('/api/signature-log/integrity')).json<Report>()
      t.equal(report.ok, c.broken(ids) == null && c.consistent === true, 'ok only when intact and consistent')
      t.match(report.range.broken, c.broken(ids), 'the first broken link')
      t.equal(report.range.checked, c.checked, 'entries verified before it')
      t.equal(report.checkpoint?.signatureValid, true)
      t.equal(report.checkpoint?.consistent, c.consistent, 'checkpoint comparison')
    })
  }
})

t.test('integrity of a range, and checkpoints listed and downloadable', async (t) => {
  const { hub, get } = await setup(t)
  const ids = (await seedLog(hub)).map((s) => s.id as number)
  const none = (await get('/api/signature-log/integrity')).json<{ ok: boolean, checkpoint: unknown }>()
  t.same([none.ok, none.checkpoint], [true, null], 'no checkpoint yet: intact, nothing to compare')
  const range = (await get(`/api/signature-log/integrity?fromId=${ids[10] as number}&toId=${ids[19] as number}`)).json<{ range: { ok: boolean, checked: number, firstId: number, lastId: number } }>()
  t.match(range.range, { ok: true, checked: 10, firstId: ids[10], lastId: ids[19] })
  t.equal((await get(`/api/signature-log/integrity?fromId=${ids[19] as number}&toId=${ids[10] as number}`)).statusCode, 400)
  await hub.db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
  await hub.db.query('UPDATE signature_log SET size_bytes = 1 WHERE id = $1', [ids[25]])
  const before = (await get(`/api/signature-log/integrity?toId=${ids[24] as number}`)).json<{ range: { ok: boolean } }>()
  t.equal(before.range.ok, true, 'a range before the change is intact')
  const over = (await get(`/api/signature-log/integrity?fromId=${ids[20] as number}`)).json<{ range: { broken: { id: number } } }>()
  t.equal(over.range.broken.id, ids[25], 'a range over it reports it')

  const first = await issueCheckpoint(hub.db, hub.context.hub).catch(() => undefined)
  t.equal(first, undefined, 'the hub refuses to sign a broken log')
  await hub.db.query('UPDATE signature_log SET size_bytes = $1 WHERE id = $2', [125, ids[25]])
  const a = await issueCheckpoint(hub.db, hub.context.hub)
  await hub.db.transaction(async (tx) => await appendSignatureLog(tx, { digestSha256: 'x', sizeBytes: 1, verdict: 'accepted' }))
  const b = await issueCheckpoint(hub.db, hub.context.hub)
  t.ok(a.issued && b.issued)
  const list = (await get('/api/signature-log/checkpoints?limit=1')).json<{ checkpoints: Array<{ id: number, entries: number }>, next: number | null }>()
  t.equal(list.checkpoints.length, 1)
  t.equal(list.checkpoints[0]?.entries, 31, 'newest first')
  const older = (await get(`/api/signature-log/checkpoints?limit=1&before=${String(list.next)}`)).json<{ checkpoints: Array<{ entries: number }>, next: number | null }>()
  t.same([older.checkpoints[0]?.entries, older.next], [30, null])
  const file = await get(`/api/signature-log/checkpoints/${list.checkpoints[0]?.id as number}`)
  t.match(file.headers['content-disposition'], /attachment; filename="signature-log-checkpoint-\d+\.json"/)
  t.match(verifyCheckpoint(JSON.parse(file.body), [hub.context.hub.fingerprintSha256]), { ok: true, checkpoint: { entries: 31 } }, 'the download verifies offline')
  t.equal((await get('/api/signature-log/checkpoints/99999')).statusCode, 404)
  t.equal((await get('/api/signature-log/integrity')).json<{ ok: boolean }>().ok, true)
})

t.test('clerks are refused every signature-log route; admins are admitted', async (t) => {
  const { get } = await setup(t)
  for (const url of ['/api/signature-log', '/api/signature-log/export?format=csv', '/api/signature-log/integrity', '/api/signature-log/checkpoints', '/api/signature-log/checkpoints/1', '/api/signature-log/1']) {
    const res = await get(url, 'clerk')
    t.match([res.statusCode, res.json<{ code: string }>().code], [403, 'FORBIDDEN'], `${url}: clerk 403`)
    t.not((await get(url, 'admin')).statusCode, 403, `${url}: admin admitted`)
  }
})
