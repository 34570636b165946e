import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { buildGateway } from '../../src/gateway/app.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import type { AgencyEntry, RegistryFile } from '../../src/registry/registry-format.js'
import { DirectorySnapshot } from '../../src/routing/directory/directory-provider.js'
import { storedPeerHubs } from '../../src/routing/peer-hubs.js'
import type { AcceptedDirectory, StoredDirectoryAgency } from '../../src/store/peer-directories.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { upsertPeer } from '../../src/store/routes.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { testDatabase } from '../helpers/database.js'
import { examplePolicy, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity } from '../helpers/hub.js'
import { hubTlsPki } from '../helpers/hub-tls.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// Sender binding of forwarded documents (docs/directory.md): this hub (hub-3) serves C and knows
// no other agency in its registry except one `peerAgencies` entry (G22). A document from an agency
// of another hub, forwarded by peer hub-2, binds its signer in the signed directory of the hub it
// started at (the first hop); the registry entry, where there is one, decides instead. Every
// refusal is a problem with a stable code and a signature-log entry. A real gateway over mutual
// TLS; the directories in force are the provider's real snapshot over directories as the refresh
// stores them (their fetch and signature have their own tests, test/routing/directory-exchange).

const C = '000.00.00.G12'
const A = '000.00.00.H41'
const H29 = '000.00.00.H29'
const G22 = '000.00.00.G22'
const T = '2026-05-01T10:00:00.000Z'

const fingerprintOf = (code: string): string =>
  new X509Certificate(readFileSync(join(PKI, 'agencies', code, 'cert.pem'))).fingerprint256.replace(/:/g, '').toLowerCase()

function directoryOf (hubId: string, agencies: StoredDirectoryAgency[], validForMs = 3_600_000): AcceptedDirectory {
  const now = Date.now()
  return { hubId, version: 5, issuedAt: new Date(now - 60_000), validUntil: new Date(now + validForMs), sha256: 'a'.repeat(64), signerFingerprint: 'b'.repeat(64), agencies, acceptedAt: new Date(now - 30_000) }
}
const listing = (code: string, binds: { fingerprint?: string, subjectRule?: Record<string, string> }): StoredDirectoryAgency =>
  ({ code, name: code, receives: 'push', signerFingerprints: binds.fingerprint != null ? [binds.fingerprint] : [], ...(binds.subjectRule != null ? { subjectRule: binds.subjectRule } : {}) })

t.test('forwarded documents bind their sender in the origin hub\'s signed directory', async (t) => {
  const pki = await hubTlsPki(2)
  const [self, peer] = pki.certs as [typeof pki.certs[0], typeof pki.certs[0]]
  const db = await testDatabase(t)
  const demo = JSON.parse(readFileSync(join(PKI, 'registry.json'), 'utf8')) as RegistryFile
  const entry = (code: string): AgencyEntry => demo.agencies.find((a) => a.code === code) as AgencyEntry
  const { code, name, certificates } = entry(G22)
  const registry = AgencyRegistry.fromJson({ version: 1, agencies: [entry(C)], peerAgencies: [{ code, name, certificates }] })
  await syncAgencies(db, registry)
  const policy = await examplePolicy({ registry })
  const identity = await exampleHubIdentity()
  // The directories in force change per case: the gateway asks the current snapshot.
  let snapshot = new DirectorySnapshot([])
  const app = await buildGateway({
    db,
    verify: async (bytes, options) => await verifyDocument(bytes, policy, options),
    queue: undefined,
    hub: identity,
    maxBytes: 1024 * 1024,
    rateLimitPerMinute: 100_000,
    authFailuresPerMinute: 1000,
    hubId: 'hub-3',
    peers: storedPeerHubs(db),
    peerDirectories: { signerBinding: (agency, signer, options) => snapshot.signerBinding(agency, signer, options) }
  }, { https: { cert: self.cert, key: self.key, ca: pki.ca, requestCert: true, rejectUnauthorized: false } })
  t.teardown(async () => { await app.close() })
  const url = new URL('/peer/v1/documents', await app.listen({ host: '127.0.0.1', port: 0 }))
  await upsertPeer(db, { hub_id: 'hub-2', base_url: 'https://127.0.0.1:1', server_certificates: [peer.fingerprint], client_certificates: [peer.fingerprint], signing_certificates: [identity.fingerprintSha256], source: 'cli' })

  const post = async (body: Buffer, headers: Record<string, string>): Promise<{ status: number, json: Record<string, unknown> }> =>
    await new Promise((resolve, reject) => {
      const r = request(url, { method: 'POST', ca: pki.ca, cert: peer.cert, key: peer.key, agent: false, headers: { 'content-type': 'application/xml', ...headers } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }))
      })
      r.on('error', reject)
      r.end(body)
    })

  const fpA = fingerprintOf(A)
  const hub1BindsA = directoryOf('hub-1', [listing(A, { fingerprint: fpA })])
  const tampered = Buffer.from(documentFromTo(A, C, 90).toString('utf8').replace('<edXML:Subject>', '<edXML:Subject>X'))
  interface Case { name: string, directories: AcceptedDirectory[], from: string, hops: string[], status: number, code?: RegExp, flag?: string, bytes?: Buffer, detail?: RegExp }
  const cases: Case[] = [
    { name: 'a fingerprint the origin hub\'s directory binds', directories: [hub1BindsA], from: A, hops: ['hub-1', 'hub-2'], status: 202, flag: 'sender-bound-by-directory:hub-1@5' },
    { name: 'a subject rule the origin hub\'s directory binds', directories: [directoryOf('hub-1', [listing(H29, { subjectRule: { UID: H29 } })])], from: H29, hops: ['hub-1', 'hub-2'], status: 202, flag: 'sender-bound-by-directory:hub-1@5' },
    { name: 'sent by the peer that serves it (one hop)', directories: [directoryOf('hub-2', [listing(A, { fingerprint: fpA })])], from: A, hops: ['hub-2'], status: 202, flag: 'sender-bound-by-directory:hub-2@5' },
    { name: 'the directory binds another certificate to the agency', directories: [directoryOf('hub-1', [listing(A, { fingerprint: 'e'.repeat(64) })])], from: A, hops: ['hub-1', 'hub-2'], status: 403, code: /^SENDER_MISMATCH$/, detail: /DIRECTORY_SIGNER_NOT_BOUND/ },
    { name: 'a subject rule the certificate does not meet', directories: [directoryOf('hub-1', [listing(H29, { subjectRule: { UID: '000.00.00.H28' } })])], from: H29, hops: ['hub-1', 'hub-2'], status: 403, code: /^SENDER_MISMATCH$/, detail: /DIRECTORY_SIGNER_NOT_BOUND/ },
    { name: 'the agency is another hub\'s than the one the document started at', directories: [hub1BindsA], from: A, hops: ['hub-4', 'hub-2'], status: 403, code: /^SENDER_MISMATCH$/, detail: /DIRECTORY_HUB_MISMATCH/ },
    { name: 'no directory lists the agency', directories: [directoryOf('hub-1', [])], from: A, hops: ['hub-1', 'hub-2'], status: 422, code: /^AGENCY_UNKNOWN$/, detail: /DIRECTORY_AGENCY_UNKNOWN/ },
    { name: 'the origin\'s directory is past its valid-until', directories: [directoryOf('hub-1', [listing(A, { fingerprint: fpA })], -1000)], from: A, hops: ['hub-1', 'hub-2'], status: 422, code: /^AGENCY_UNKNOWN$/, detail: /DIRECTORY_EXPIRED/ },
    { name: 'two peers list the agency', directories: [hub1BindsA, directoryOf('hub-2', [listing(A, { fingerprint: fpA })])], from: A, hops: ['hub-1', 'hub-2'], status: 422, code: /^AGENCY_UNKNOWN$/, detail: /DIRECTORY_CONFLICT/ },
    { name: 'a bound signer, bytes changed on the way: the signature decides first', directories: [hub1BindsA], from: A, hops: ['hub-1', 'hub-2'], status: 422, code: /^(DIGEST_MISMATCH|SIGNATURE_INVALID)$/, bytes: tampered },
    { name: 'peerAgencies binds when no directory lists the agency (fallback)', directories: [], from: G22, hops: ['hub-1', 'hub-2'], status: 202 },
    { name: 'peerAgencies overrides a directory binding another certificate (explicit entry first)', directories: [directoryOf('hub-1', [listing(G22, { fingerprint: 'e'.repeat(64) })])], from: G22, hops: ['hub-1', 'hub-2'], status: 202 }
  ]
  let n = 100
  for (const c of cases) {
    snapshot = new DirectorySnapshot(c.directories)
    n++
    const bytes = c.bytes ?? documentFromTo(c.from, C, n)
    const answer = await post(bytes, { 'idempotency-key': `k-${n}`, 'lienthong-recipient': C, 'lienthong-hops': c.hops.map((h) => `${h};${T}`).join(', ') })
    t.equal(answer.status, c.status, `${c.name}: ${JSON.stringify(answer.json).slice(0, 400)}`)
    const logged = (await db.query<{ verdict: string, reason_code: string | null, detail: string | null, flags: string[], cert_fingerprint: string | null }>(
      'SELECT verdict, reason_code, detail, flags, cert_fingerprint FROM signature_log ORDER BY id DESC LIMIT 1')).rows[0]
    if (c.status === 202) {
      t.equal(logged?.verdict, 'accepted', `${c.name}: logged accepted`)
      t.ok(logged?.flags.includes('forwarded-by:hub-2'), `${c.name}: the log names the forwarding peer`)
      if (c.flag != null) t.ok(logged?.flags.includes(c.flag), `${c.name}: the log names the directory that bound the signer (${logged?.flags.join(' ')})`)
      else t.notOk(logged?.flags.some((f) => f.startsWith('sender-bound-by-directory')), `${c.name}: bound by the registry, not a directory`)
    } else {
      t.match(answer.json.code, c.code, `${c.name}: the problem's code`)
      t.equal(answer.json.signatureLogEntry != null, true, `${c.name}: the problem cites its signature-log entry`)
      t.equal(logged?.verdict, 'rejected', `${c.name}: logged rejected`)
      t.match(logged?.reason_code, c.code, `${c.name}: the log's reason code`)
      t.equal(logged?.cert_fingerprint, fingerprintOf(c.from), `${c.name}: the log records the signer`)
      if (c.detail != null) t.match(logged?.detail, c.detail, `${c.name}: the log says why`)
    }
  }
  const stored = (await db.query<{ n: string }>('SELECT count(*) AS n FROM documents')).rows[0]
  t.equal(Number(stored?.n), cases.filter((c) => c.status === 202).length, 'only the bound documents were stored')
})
