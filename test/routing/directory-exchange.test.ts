// The signed hub directory between two real gateways over HTTPS (real certificates, real
// PostgreSQL): publish -> fetch -> verify -> route, each refusal with its code, fail-closed expiry.
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildGateway } from '../../src/gateway/app.js'
import type { HubContext } from '../../src/gateway/hub-context.js'
import { DIRECTORY_PATH } from '../../src/gateway/routes/directory.js'
import { hubPinOf } from '../../src/evidence/receipts/hub-pin.js'
import type { HubIdentity } from '../../src/evidence/hub-identity.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import type { AgencyEntry } from '../../src/registry/registry-format.js'
import type { DirectoryPeer } from '../../src/routing/directory/directory-peer.js'
import { DirectorySnapshot } from '../../src/routing/directory/directory-provider.js'
import { directoryReadiness, peerDirectoryReports } from '../../src/routing/directory/directory-readiness.js'
import { signDirectory } from '../../src/routing/directory/directory-signature.js'
import type { HubDirectory } from '../../src/routing/directory/directory-format.js'
import { DirectoryPublisher } from '../../src/routing/directory/publish-directory.js'
import { refreshDirectories, type DirectoryRefreshOptions, type PeerRefreshOutcome } from '../../src/routing/directory/refresh-directories.js'
import { acceptedDirectoryBytes } from '../../src/store/peer-directories.js'
import type { Logger } from 'pino'
import type { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { testDatabase, type TestPostgres } from '../helpers/database.js'
import { backbonePki } from '../helpers/hub-directory-pki.js'

const pki = await backbonePki(t.testdir(), ['hub-a', 'hub-b'])
const trust = await TrustStore.load(pki.trustDir)
const A = pki.hubs['hub-a'] as NonNullable<typeof pki.hubs[string]>
const B = pki.hubs['hub-b'] as NonNullable<typeof pki.hubs[string]>
const FP1 = 'aa'.repeat(32)
const FP2 = 'bb'.repeat(32)

const agency = (code: string, fingerprint: string, mode: 'push' | 'pull' = 'pull'): AgencyEntry => ({
  code,
  name: `Agency ${code}`,
  certificates: [fingerprint],
  allowWeakAlgorithms: false,
  delivery: mode === 'pull' ? { mode } : { mode, url: 'https://secret.example/edxml', serverCertificates: [FP2] }
})

/** A real gateway of `hubId` over HTTPS publishing `agencies()` as its directory. */
async function gateway (hubId: 'hub-a' | 'hub-b', db: TestPostgres, agencies: () => AgencyEntry[]): Promise<{ url: string, publisher: DirectoryPublisher }> {
  const keys = hubId === 'hub-a' ? A : B
  const publisher = new DirectoryPublisher({ db, hubId, hub: keys.signing, agencies, validityMs: 3_600_000 })
  const context: HubContext = {
    db,
    verify: async () => { throw new Error('no document is verified in these tests') },
    queue: undefined,
    hub: keys.signing,
    maxBytes: 1024 * 1024,
    rateLimitPerMinute: 10_000,
    directory: publisher
  }
  const app = await buildGateway(context, { https: { key: keys.tls.key, cert: keys.tls.cert } })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { url: `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`, publisher }
}

const peer = (hubId: string, url: string, tlsFingerprint: string, signing: HubIdentity): DirectoryPeer =>
  ({ hubId, directoryUrl: `${url}${DIRECTORY_PATH}`, tlsPin: { fingerprints: [tlsFingerprint] }, signingPin: hubPinOf(signing.certificate) })

const refreshOptions = (db: TestPostgres, peers: DirectoryPeer[], overrides: Partial<DirectoryRefreshOptions> = {}): DirectoryRefreshOptions =>
  ({ db, peers: async () => peers, trustStore: () => trust, requireRevocation: true, maxBytes: 256 * 1024, timeoutMs: 5000, tls: { ca: pki.caPem }, ...overrides })

const only = (outcomes: PeerRefreshOutcome[]): PeerRefreshOutcome => outcomes[0] as PeerRefreshOutcome
const signer = (fingerprintSha256: string, subject: Array<[string, string]> = []) => ({ fingerprintSha256, subject: new Map(subject.map(([k, v]) => [k, [v]])) })

const dbA = await testDatabase(t)
const dbB = await testDatabase(t)
const bAgencies = [agency('000.00.00.H98', FP1, 'push')]
const hubA = await gateway('hub-a', dbA, () => [agency('000.00.00.H41', FP2)])
const hubB = await gateway('hub-b', dbB, () => bAgencies)
const peerB = peer('hub-b', hubB.url, B.tls.fingerprint, B.signing)

t.test('publish -> fetch -> verify between two gateways, both ways; routes and sender binding follow', async (t) => {
  const fromB = only(await refreshDirectories(refreshOptions(dbA, [peerB])))
  t.match(fromB, { hubId: 'hub-b', outcome: 'accepted', version: 1, dropped: [] })
  const fromA = only(await refreshDirectories(refreshOptions(dbB, [peer('hub-a', hubA.url, A.tls.fingerprint, A.signing)])))
  t.match(fromA, { hubId: 'hub-a', outcome: 'accepted', version: 1 })

  const atA = await DirectorySnapshot.load(dbA)
  t.same(atA.lookup('000.00.00.H98'), { found: true, hubId: 'hub-b', version: 1 })
  t.same(atA.lookup('000.00.00.H41'), { found: false, why: 'unlisted', hubIds: [] }, 'our own agencies are not in what we hold from peers')
  t.same((await DirectorySnapshot.load(dbB)).lookup('000.00.00.H41'), { found: true, hubId: 'hub-a', version: 1 })
  t.match(atA.signerBinding('000.00.00.H98', signer(FP1)), { bound: true, hubId: 'hub-b', version: 1 })
  t.match(atA.signerBinding('000.00.00.H98', signer(FP2)), { bound: false, code: 'DIRECTORY_SIGNER_NOT_BOUND' }, 'another agency\'s certificate does not sign for H98')
  t.match(atA.signerBinding('000.00.00.H98', signer(FP1), { servedBy: 'hub-a' }), { bound: false, code: 'DIRECTORY_HUB_MISMATCH' })
  t.match(atA.signerBinding('000.00.00.X1', signer(FP1)), { bound: false, code: 'DIRECTORY_AGENCY_UNKNOWN' })

  const raw = await acceptedDirectoryBytes(dbA, 'hub-b', 1)
  t.ok(raw?.includes('<HubId>hub-b</HubId>'), 'the raw signed bytes are kept as evidence')
  t.notOk(raw?.includes('secret.example'), 'push endpoints are never published')
  t.ok(raw?.includes('<Receives>push</Receives>'))
})

t.test('the published bytes are deterministic and cacheable: same state, same bytes and ETag; 304 -> unchanged', async (t) => {
  const get = async (headers: Record<string, string> = {}): Promise<{ status: number, etag: string | null, body: string }> => {
    const res = await fetchInsecure(`${hubB.url}${DIRECTORY_PATH}`, headers)
    return res
  }
  const first = await get()
  const second = await get()
  t.equal(first.status, 200)
  t.equal(second.body, first.body, 'same state, same bytes')
  t.equal(second.etag, first.etag)
  t.equal((await get({ 'if-none-match': first.etag as string })).status, 304)
  t.match(only(await refreshDirectories(refreshOptions(dbA, [peerB]))), { outcome: 'unchanged', version: 1 })
})

t.test('an agency added to hub B\'s registry reaches A\'s route provider after a refresh, without touching A', async (t) => {
  bAgencies.push({ ...agency('000.00.31.H98', FP2), subjectRule: { UID: '000.00.31.H98' } })
  t.match(only(await refreshDirectories(refreshOptions(dbA, [peerB]))), { outcome: 'accepted', version: 2 })
  const atA = await DirectorySnapshot.load(dbA)
  t.same(atA.lookup('000.00.31.H98'), { found: true, hubId: 'hub-b', version: 2 })
  t.match(atA.signerBinding('000.00.31.H98', signer(FP1, [['0.9.2342.19200300.100.1.1', '000.00.31.H98']])), { bound: true }, 'bound by subject rule')
})

t.test('a peer listing one of our agency codes in another letter case: ignored with DIRECTORY_CODE_LOCAL, the rest accepted', async (t) => {
  await syncAgencies(dbA, { all: () => [agency('000.00.00.H41', FP2)] } as unknown as AgencyRegistry)
  bAgencies.push(agency('000.00.00.h41', FP1), agency('000.00.00.H42', FP1))
  const warnings: Array<Record<string, unknown>> = []
  const logger = { warn: (fields: Record<string, unknown>) => { warnings.push(fields) }, info: () => {} } as unknown as Logger
  t.match(only(await refreshDirectories(refreshOptions(dbA, [peerB], { logger }))), { outcome: 'accepted', version: 3, dropped: [], local: ['000.00.00.h41'] })
  t.match(warnings, [{ peer: 'hub-b', code: 'DIRECTORY_CODE_LOCAL', local: ['000.00.00.h41'] }], 'logged with its code')
  const atA = await DirectorySnapshot.load(dbA)
  t.same(atA.lookup('000.00.00.h41'), { found: false, why: 'unlisted', hubIds: [] }, 'the look-alike routes nowhere')
  t.match(atA.signerBinding('000.00.00.h41', signer(FP1)), { bound: false, code: 'DIRECTORY_AGENCY_UNKNOWN' }, 'and binds no signer')
  t.same(atA.lookup('000.00.00.H42'), { found: true, hubId: 'hub-b', version: 3 }, 'the rest of the directory is in force')
})

/** A server presenting hub B's TLS certificate and answering whatever `body` holds. */
async function impostor (t: { teardown: (fn: () => void) => void }, tls = B.tls): Promise<{ url: string, serve: (body: Buffer | string) => void }> {
  let body: Buffer = Buffer.alloc(0)
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => { res.setHeader('content-type', 'application/xml'); res.end(body) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, serve: (b) => { body = Buffer.from(b) } }
}

const directoryOf = (hubId: string, version: number, issuedAt: Date, validMs: number, codes: string[] = ['000.00.00.H98']): HubDirectory =>
  ({ hubId, version, issuedAt, validUntil: new Date(issuedAt.getTime() + validMs), agencies: codes.map((code) => ({ code, name: `Agency ${code}`, receives: 'pull', signerFingerprints: [FP1] })) })

t.test('forged, wrong key, untrusted, stale, rollback, reused version, oversized, wrong hub id, future, wrong TLS: each refused with its code; the held directory stays', async (t) => {
  const db = await testDatabase(t)
  const server = await impostor(t)
  const p = peer('hub-b', server.url, B.tls.fingerprint, B.signing)
  const now = new Date()
  const good = signDirectory(directoryOf('hub-b', 5, now, 3_600_000), B.signing)
  server.serve(good)
  t.match(only(await refreshDirectories(refreshOptions(db, [p]))), { outcome: 'accepted', version: 5 })

  const cases: Array<{ name: string, body: string | Buffer, code: string, reason?: string, options?: Partial<DirectoryRefreshOptions>, peerOverride?: Partial<DirectoryPeer> }> = [
    { name: 'forged: a name changed after signing', body: good.replace('Agency 000.00.00.H98', 'Agency 000.00.00.H99'), code: 'DIRECTORY_SIGNATURE_INVALID', reason: 'DIGEST_MISMATCH' },
    { name: 'forged: signature value altered', body: good.replace(/<ds:SignatureValue>(.)/, (_m, c: string) => `<ds:SignatureValue>${c === 'A' ? 'B' : 'A'}`), code: 'DIRECTORY_SIGNATURE_INVALID', reason: 'SIGNATURE_INVALID' },
    { name: 'signed by a trusted certificate that is not hub B\'s', body: signDirectory(directoryOf('hub-b', 6, now, 3_600_000), pki.rogue), code: 'DIRECTORY_SIGNER_NOT_PEER' },
    { name: 'signed under an untrusted root', body: signDirectory(directoryOf('hub-b', 6, now, 3_600_000), pki.untrusted), code: 'DIRECTORY_UNTRUSTED', reason: 'CERT_UNTRUSTED' },
    { name: 'stale: past its valid-until', body: signDirectory(directoryOf('hub-b', 6, new Date(now.getTime() - 7_200_000), 3_600_000), B.signing), code: 'DIRECTORY_STALE' },
    { name: 'issued in the future', body: signDirectory(directoryOf('hub-b', 6, new Date(now.getTime() + 86_400_000), 3_600_000), B.signing), code: 'DIRECTORY_NOT_YET_VALID' },
    { name: 'rollback to an older version', body: signDirectory(directoryOf('hub-b', 4, now, 3_600_000, ['000.00.00.H98', '000.00.00.EVIL']), B.signing), code: 'DIRECTORY_ROLLBACK' },
    { name: 'same version, other content', body: signDirectory(directoryOf('hub-b', 5, now, 3_600_000, ['000.00.00.H98', '000.00.00.EVIL']), B.signing), code: 'DIRECTORY_VERSION_REUSED' },
    { name: 'another hub\'s id, signed by B', body: signDirectory(directoryOf('hub-c', 6, now, 3_600_000), B.signing), code: 'DIRECTORY_HUB_MISMATCH' },
    { name: 'oversized', body: Buffer.alloc(300 * 1024, 0x20), code: 'DIRECTORY_TOO_LARGE' },
    { name: 'not a directory', body: '<?xml version="1.0"?><Receipt xmlns="urn:lienthong:receipt:1"/>', code: 'DIRECTORY_INVALID' },
    { name: 'a DOCTYPE', body: '<!DOCTYPE x [<!ENTITY a "b">]><HubDirectory/>', code: 'DIRECTORY_INVALID', reason: 'XML_DTD_FORBIDDEN' },
    { name: 'the server is not hub B\'s (TLS pin)', body: good, code: 'DIRECTORY_FETCH_FAILED', peerOverride: { tlsPin: { fingerprints: [A.tls.fingerprint] } } }
  ]
  for (const c of cases) {
    server.serve(c.body)
    const outcome = only(await refreshDirectories(refreshOptions(db, [{ ...p, ...c.peerOverride }], c.options)))
    t.match(outcome, { outcome: 'refused', code: c.code, heldVersion: 5, ...(c.reason != null ? { reason: c.reason } : {}) }, c.name)
  }
  const snapshot = await DirectorySnapshot.load(db)
  t.same(snapshot.lookup('000.00.00.H98'), { found: true, hubId: 'hub-b', version: 5 }, 'the last good directory stays in force')
  t.same(snapshot.lookup('000.00.00.EVIL'), { found: false, why: 'unlisted', hubIds: [] })
  const [report] = await peerDirectoryReports(db, ['hub-b'])
  t.match(report, { state: 'in-force', version: 5, lastCode: 'DIRECTORY_FETCH_FAILED' }, 'the last refusal is recorded')
})

t.test('expiry fails closed: past valid-until the agencies are unroutable, the binding check refuses, readiness fails', async (t) => {
  const db = await testDatabase(t)
  const server = await impostor(t)
  const p = peer('hub-b', server.url, B.tls.fingerprint, B.signing)
  const now = new Date()
  server.serve(signDirectory(directoryOf('hub-b', 1, now, 60_000), B.signing))
  t.match(only(await refreshDirectories(refreshOptions(db, [p]))), { outcome: 'accepted' })
  t.match(directoryReadiness(await peerDirectoryReports(db, ['hub-b']), ['hub-b']), { ok: true })

  const later = new Date(now.getTime() + 61_000)
  // The peer keeps serving the same (now stale) directory: refused, nothing new in force.
  t.match(only(await refreshDirectories(refreshOptions(db, [p], { now: () => later }))), { outcome: 'refused', code: 'DIRECTORY_STALE' })
  const snapshot = await DirectorySnapshot.load(db)
  t.same(snapshot.lookup('000.00.00.H98', later), { found: false, why: 'expired', hubIds: ['hub-b'] })
  t.match(snapshot.signerBinding('000.00.00.H98', signer(FP1), { now: later }), { bound: false, code: 'DIRECTORY_EXPIRED' })
  const readiness = directoryReadiness(await peerDirectoryReports(db, ['hub-b'], later), ['hub-b'])
  t.equal(readiness.ok, false)
  t.match(readiness.detail, /hub-b: directory v1 EXPIRED .*refused DIRECTORY_STALE/)
  t.match(directoryReadiness(await peerDirectoryReports(db, ['hub-x']), ['hub-x']), { ok: false, detail: /hub-x: no directory accepted/ })
})

t.test('two peers listing one agency: neither is believed', async (t) => {
  const directories = ['hub-b', 'hub-c'].map((hubId) => ({ hubId, version: 1, issuedAt: new Date(), validUntil: new Date(Date.now() + 60_000), sha256: '', signerFingerprint: '', acceptedAt: new Date(), agencies: [{ code: 'X1', name: 'x', receives: 'pull' as const, signerFingerprints: [FP1] }] }))
  const snapshot = new DirectorySnapshot(directories)
  t.same(snapshot.lookup('X1'), { found: false, why: 'conflict', hubIds: ['hub-b', 'hub-c'] })
  t.match(snapshot.signerBinding('X1', signer(FP1)), { bound: false, code: 'DIRECTORY_CONFLICT' })
})

/** GET over HTTPS trusting the test CA. */
async function fetchInsecure (url: string, headers: Record<string, string>): Promise<{ status: number, etag: string | null, body: string }> {
  const { request } = await import('node:https')
  return await new Promise((resolve, reject) => {
    const r = request(url, { headers, ca: pki.caPem, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, etag: (res.headers.etag as string | undefined) ?? null, body: Buffer.concat(chunks).toString('utf8') }) })
    })
    r.on('error', reject)
    r.end()
  })
}
