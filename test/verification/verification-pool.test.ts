import t from 'tap'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { Piscina } from 'piscina'
import { DEFAULT_MAX_BYTES } from '../../src/verification/verification-policy.js'
import {
  createVerificationPool, PoolClosedError, PoolSaturatedError, VERIFICATION_WORKER_FILE, VerificationWorkerError,
  type VerificationPoolOptions
} from '../../src/verification/verification-pool.js'
import type { WorkerConfig, WorkerReply } from '../../src/verification/verification-worker.js'
import type { Verdict } from '../../src/domain/verdict.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { FIXTURES, PKI, examplePolicy } from '../helpers/example-pki.js'
import { signedDocumentOfSize } from '../helpers/ops-fixtures.js'

const TRUST = join(PKI, 'trust')
const STALE_TRUST = join(PKI, 'special', 'stale-trust')
const BASE: VerificationPoolOptions = { trustDir: TRUST, registryFile: join(PKI, 'registry.json'), maxBytes: DEFAULT_MAX_BYTES, requireRevocation: true }
const SIGNATURES = join(FIXTURES, 'signatures')
const GENUINE = readFileSync(join(SIGNATURES, 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'))
const STALE_CRL = readFileSync(join(SIGNATURES, 'invalid', 'REVOCATION_UNAVAILABLE.stale-crl.edxml'))
const TOO_LARGE = readFileSync(join(SIGNATURES, 'invalid', 'PAYLOAD_TOO_LARGE.over-the-size-cap.edxml'))

let large: Buffer | undefined
/** ~20 MB, signed once (slow-ish) and shared by the tests that need it. */
function largeDocument (): Buffer {
  large ??= signedDocumentOfSize(20 * 1024 * 1024)
  return large
}

/** Makes `dir` hold exactly the files of `from` (nothing when `from` is null). */
function fill (dir: string, from: string | null): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name))
  for (const name of from == null ? [] : readdirSync(from)) copyFileSync(join(from as string, name), join(dir, name))
}

const codeOf = (v: Verdict): string => v.verdict === 'accepted' ? 'accepted' : v.code

// One pool for the corpus, the transfer and the event-loop tests; the others make their own.
const pool = await createVerificationPool({ ...BASE, threads: 2, maxQueue: 100 })
t.teardown(() => pool.close())

t.test('the worker module sits next to the pool module, with its extension', async (t) => {
  t.equal(basename(VERIFICATION_WORKER_FILE), 'verification-worker.ts', 'under tsx the worker is the .ts file')
  t.ok(existsSync(VERIFICATION_WORKER_FILE))
  t.same(pool.stats(), { threads: 2, queued: 0, running: 0, completed: 0 })
})

t.test('the corpus through the pool gives exactly the verdicts of verifyDocument', async (t) => {
  const files = [...readdirSync(join(SIGNATURES, 'valid')).map((f) => join('valid', f)), ...readdirSync(join(SIGNATURES, 'invalid')).map((f) => join('invalid', f))].sort()
  t.ok(files.length >= 40, `${files.length} fixtures`)
  const policy = await examplePolicy()
  // All at once: the tasks spread over both threads and wait in the line.
  const pooled = await Promise.all(files.map((f) => pool.verify(readFileSync(join(SIGNATURES, f)))))
  for (const [i, file] of files.entries()) {
    const direct = await verifyDocument(readFileSync(join(SIGNATURES, file)), policy)
    const got = pooled[i] as Verdict
    t.same(got, direct, `${file}: ${codeOf(direct)}`)
    // The two cases that need another policy (stale trust, size cap) are checked by the reload and close tests.
    if (file.startsWith('valid/')) t.equal(codeOf(got), 'accepted', `${file} accepted`)
    else if (!/^invalid\/(REVOCATION_UNAVAILABLE\.stale-crl|PAYLOAD_TOO_LARGE)/.test(file)) t.equal(codeOf(got), basename(file).split('.')[0], `${file} code`)
  }
  const stats = pool.stats()
  t.equal(stats.completed, files.length)
  t.equal(stats.running + stats.queued, 0)
})

t.test('bytes: copied by default, moved only on request and only when the Buffer owns its memory', async (t) => {
  const mine = Buffer.from(GENUINE)
  t.equal(codeOf(await pool.verify(mine)), 'accepted')
  t.same(mine, GENUINE, 'by default the caller keeps its bytes')

  const owned = Buffer.alloc(GENUINE.length)
  GENUINE.copy(owned)
  const verdict = pool.verify(owned, { transfer: true })
  t.equal(owned.length, 0, 'transferred: the caller\'s Buffer is detached')
  t.equal(codeOf(await verdict), 'accepted')

  const pooledSlice = Buffer.from('<not-xml/>')
  t.not(pooledSlice.byteLength, pooledSlice.buffer.byteLength, 'a slice of the Buffer pool')
  const rejected = await pool.verify(pooledSlice, { transfer: true })
  t.equal(pooledSlice.toString(), '<not-xml/>', 'a pool slice is copied even when transfer is asked for')
  t.equal(codeOf(rejected), 'SCHEMA_INVALID')
})

t.test('the event loop stays free while a ~20 MB document is verified', async (t) => {
  const signed = largeDocument() // signed before measuring
  // In shared memory, as the gateway hands request bodies over (raw-body.ts): nothing is copied
  // on this thread.
  const doc = Buffer.from(new SharedArrayBuffer(signed.length))
  signed.copy(doc)
  t.ok(doc.length > 20 * 1024 * 1024, `${(doc.length / 1024 / 1024).toFixed(1)} MB`)
  let ticks = 0
  let maxGap = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    maxGap = Math.max(maxGap, now - last)
    last = now
    ticks++
  }, 5)
  // The verifier became fast enough that one 20 MB verification can take under 200 ms, too short
  // for 5 ms ticks to mean much: verify it again until 400 ms have gone by (at most 20 rounds).
  const started = performance.now()
  const verdicts: Verdict[] = []
  try {
    while (verdicts.length < 20 && performance.now() - started < 400) verdicts.push(await pool.verify(doc))
  } finally {
    clearInterval(timer)
  }
  const elapsed = performance.now() - started
  const perVerification = elapsed / verdicts.length
  t.comment(`${verdicts.length} verifications in ${elapsed.toFixed(0)} ms (${perVerification.toFixed(0)} ms each); ${ticks} ticks; max event-loop gap ${maxGap.toFixed(1)} ms`)
  const digest = createHash('sha256').update(doc).digest('hex')
  t.ok(verdicts.every((v) => codeOf(v) === 'accepted' && v.verdict === 'accepted' && v.digestSha256 === digest), 'every round accepted, with the document\'s digest')
  t.ok(elapsed >= 400, 'the verifications took long enough for the measure to mean something')
  t.ok(ticks > elapsed / 5 / 4, 'the timer kept firing')
  // About blocking, not speed (that is bench/accept's stall test): verifying on this thread would
  // stall it for a whole verification each round; a loaded CI machine still gives gaps of some tens
  // of ms, far below one verification.
  t.ok(maxGap < perVerification / 3, `max gap between 5 ms ticks ${maxGap.toFixed(1)} ms, far below one ${perVerification.toFixed(0)} ms verification`)
})

t.test('a full waiting line rejects at once with PoolSaturatedError', async (t) => {
  const small = await createVerificationPool({ ...BASE, threads: 1, maxQueue: 2 })
  t.teardown(() => small.close())
  const doc = signedDocumentOfSize(2 * 1024 * 1024)
  const outcomes = Array.from({ length: 10 }, () => small.verify(doc))
  t.same(small.stats(), { threads: 1, queued: 2, running: 1, completed: 0 }, 'one verifying, two waiting')
  const settled = await Promise.allSettled(outcomes)
  const accepted = settled.filter((s) => s.status === 'fulfilled')
  const refused = settled.filter((s) => s.status === 'rejected')
  t.equal(accepted.length, 3, 'one per thread plus maxQueue were taken')
  t.equal(refused.length, 7)
  for (const s of accepted) t.equal(codeOf(s.value), 'accepted')
  for (const s of refused) {
    t.type(s.reason, PoolSaturatedError)
    const err = s.reason as PoolSaturatedError
    t.ok(Number.isInteger(err.retryAfterSeconds) && err.retryAfterSeconds >= 1 && err.retryAfterSeconds <= 60, `Retry-After ${err.retryAfterSeconds}`)
    t.equal(err.capacity, 3)
  }
  t.same(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled', ...Array(7).fill('rejected')], 'the first three in, the rest out')
  t.equal(codeOf(await small.verify(doc)), 'accepted', 'room again once the line has drained')
  t.same(small.stats(), { threads: 1, queued: 0, running: 0, completed: 4 })
})

t.test('reload: new trust store in new workers; a failed reload keeps the old ones', async (t) => {
  const dir = t.testdir()
  fill(dir, TRUST)
  const reloading = await createVerificationPool({ ...BASE, trustDir: dir, threads: 1 })
  t.teardown(() => reloading.close())
  t.equal(codeOf(await reloading.verify(GENUINE)), 'accepted')

  // A verification in flight during the swap finishes on the old generation.
  const inFlight = reloading.verify(largeDocument())
  let inFlightDone = false
  inFlight.then(() => { inFlightDone = true }, () => { inFlightDone = true })
  fill(dir, STALE_TRUST)
  await reloading.reload()
  if (!inFlightDone) t.equal(reloading.stats().threads, 2, 'the old generation lives on for its in-flight task')
  else t.comment('the in-flight verification finished before the swap')
  t.equal(codeOf(await inFlight), 'accepted', 'the in-flight document kept the trust store it started with')
  t.equal(reloading.stats().threads, 1, 'the old generation ended after its last task')

  t.equal(codeOf(await reloading.verify(GENUINE)), 'REVOCATION_UNAVAILABLE', 'stale CRLs: the same document now fails closed')
  const staleCrl = await reloading.verify(STALE_CRL)
  t.equal(codeOf(staleCrl), 'REVOCATION_UNAVAILABLE')
  t.same(staleCrl, await verifyDocument(STALE_CRL, await examplePolicy({ trustDir: STALE_TRUST })), 'the corpus override case, as verifyDocument says')

  fill(dir, null) // an empty trust store: no anchor
  const failure = await reloading.reload().then(() => undefined, (err: unknown) => err)
  t.type(failure, VerificationWorkerError)
  t.match(failure, { remoteName: 'TrustStoreError', message: /no trust anchor/ })
  t.equal(reloading.stats().threads, 1, 'the failed generation is gone')
  t.equal(codeOf(await reloading.verify(GENUINE)), 'REVOCATION_UNAVAILABLE', 'the old workers still serve')

  fill(dir, TRUST)
  await reloading.reload()
  t.equal(codeOf(await reloading.verify(GENUINE)), 'accepted', 'a good reload after a bad one')
})

t.test('a pool whose workers cannot load does not start', async (t) => {
  const failure = (options: Partial<VerificationPoolOptions>): Promise<unknown> => createVerificationPool({ ...BASE, threads: 1, ...options }).then(() => undefined, (err: unknown) => err)
  t.match(await failure({ trustDir: t.testdir() }), { name: 'VerificationWorkerError', remoteName: 'TrustStoreError' })
  t.match(await failure({ registryFile: join(t.testdir(), 'missing.json') }), { name: 'VerificationWorkerError', remoteName: 'RegistryError' })
  await t.rejects(createVerificationPool({ ...BASE, threads: 0 }), RangeError)
})

t.test('an exception inside a worker comes back as an error reply; the thread lives on', async (t) => {
  // The worker contract, below the pool: whatever throws is described, never thrown across.
  const config: WorkerConfig = { trustDir: TRUST, registryFile: BASE.registryFile, maxBytes: DEFAULT_MAX_BYTES, maxDepth: 64, requireRevocation: true }
  const raw = new Piscina({ filename: VERIFICATION_WORKER_FILE, minThreads: 1, maxThreads: 1, workerData: config })
  t.teardown(() => raw.destroy())
  const first = await raw.run({ kind: 'probe' }) as WorkerReply
  t.match(first, { kind: 'ready', trustAnchors: 1, agencies: Number })
  t.match(await raw.run({ kind: 'verify', bytes: 'not bytes' }), { kind: 'error', error: { name: 'TypeError', message: /Uint8Array/ } })
  t.match(await raw.run({ kind: 'explode' }), { kind: 'error', error: { name: 'TypeError', message: /unknown verification task/ } })
  const after = await raw.run({ kind: 'probe' }) as WorkerReply
  t.same(after, first, 'the same thread, still loaded')
  t.match(await raw.run({ kind: 'verify', bytes: new Uint8Array(GENUINE) }), { kind: 'verdict', verdict: { verdict: 'accepted' } })
})

t.test('close: accepted documents finish, threads end, later calls are refused', async (t) => {
  const capped = await createVerificationPool({ ...BASE, maxBytes: 4096, threads: 1 })
  const pending = [capped.verify(TOO_LARGE), capped.verify(STALE_CRL)]
  await capped.close()
  const [tooLarge, other] = await Promise.all(pending) as [Verdict, Verdict]
  t.equal(codeOf(tooLarge), 'PAYLOAD_TOO_LARGE', 'the size-cap case of the corpus')
  t.same(tooLarge, await verifyDocument(TOO_LARGE, await examplePolicy({ maxBytes: 4096 })))
  t.equal(codeOf(other), 'PAYLOAD_TOO_LARGE')
  t.same(capped.stats(), { threads: 0, queued: 0, running: 0, completed: 2 }, 'no thread left')
  await t.rejects(capped.verify(GENUINE), PoolClosedError)
  await t.rejects(capped.reload(), PoolClosedError)
  await capped.close() // twice is harmless
})
