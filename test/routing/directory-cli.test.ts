// `lienthong directory show|peers|refresh` as an operator runs them against the hub's database.
import { createServer } from 'node:https'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { signDirectory } from '../../src/routing/directory/directory-signature.js'
import { runCli } from '../helpers/cli.js'
import { testDatabase } from '../helpers/database.js'
import { databaseUrlOf, lienthongEnv } from '../helpers/hub-process.js'
import { backbonePki } from '../helpers/hub-directory-pki.js'

const dir = t.testdir()
const pki = await backbonePki(dir, ['hub-b'])
const B = pki.hubs['hub-b'] as NonNullable<typeof pki.hubs[string]>
await writeFile(join(dir, 'peer-ca.pem'), pki.caPem)

t.test('show is stable for the same registry; peers and refresh report each peer\'s state and code', async (t) => {
  const db = await testDatabase(t)
  const env = lienthongEnv({ DATABASE_URL: databaseUrlOf(db), LIENTHONG_HUB_ID: 'hub-a', LIENTHONG_TRUST_DIR: pki.trustDir, LIENTHONG_PUSH_SERVER_CA: join(dir, 'peer-ca.pem') })

  const shown = await runCli(['directory', 'show'], env)
  t.equal(shown.code, 0, shown.stderr)
  t.match(shown.stdout, /^hub hub-a: directory version 1, issued .*, 4 agencies/)
  t.match(shown.stdout, /000\.00\.00\.G22 {2}push {2}/)
  const xml = [(await runCli(['directory', 'show', '--xml'], env)).stdout, (await runCli(['directory', 'show', '--xml'], env)).stdout]
  t.equal(xml[0], xml[1], 'the same state gives the same signed bytes')
  t.match(xml[0], /<Version>1<\/Version>/)

  t.match((await runCli(['directory', 'peers'], env)).stdout, /no peer hubs configured and no directory held/)

  // A peer as the route table holds it (route_peers, migration 015; `lienthong peer add` writes the same row).
  let body = ''
  const server = createServer({ key: B.tls.key, cert: B.tls.cert }, (_req, res) => { res.end(body) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  await db.query('INSERT INTO route_peers (hub_id, base_url, server_certificates, client_certificates, signing_certificates, source) VALUES ($1, $2, $3, \'{}\', $4, \'cli\')',
    ['hub-b', `https://127.0.0.1:${(server.address() as AddressInfo).port}`, [B.tls.fingerprint], [B.signing.fingerprintSha256]])
  const now = new Date()
  body = signDirectory({ hubId: 'hub-b', version: 3, issuedAt: now, validUntil: new Date(now.getTime() + 3_600_000), agencies: [{ code: '000.00.00.H98', name: 'H98', receives: 'pull', signerFingerprints: ['ab'.repeat(32)] }] }, B.signing)
  const refreshed = await runCli(['directory', 'refresh'], env)
  t.equal(refreshed.code, 0, refreshed.stderr)
  t.match(refreshed.stdout, /^hub-b: accepted version 3$/m)

  body = signDirectory({ hubId: 'hub-b', version: 2, issuedAt: now, validUntil: new Date(now.getTime() + 3_600_000), agencies: [] }, B.signing)
  const refused = await runCli(['directory', 'refresh'], env)
  t.equal(refused.code, 1, 'a refused directory exits 1')
  t.match(refused.stdout, /^hub-b: REFUSED DIRECTORY_ROLLBACK: .*\(version 3 stays in force until its valid-until\)$/m)

  const peers = await runCli(['directory', 'peers', '--json'], env)
  t.match(JSON.parse(peers.stdout), [{ hubId: 'hub-b', state: 'in-force', version: 3, agencies: 1, lastCode: 'DIRECTORY_ROLLBACK' }])
})
