import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { buildExamplePki } from '../../src/pki/example-pki/build.js'
import { examplePkiFiles } from '../../src/pki/example-pki/files.js'
import { issueCrl } from '../../src/pki/example-pki/issue.js'
import { writeExamplePkiFiles } from '../../src/pki/example-pki/write.js'
import { storedCrls } from '../../src/store/crls.js'
import { testDatabase } from '../helpers/database.js'
import { testRsaKeyPair } from '../helpers/test-keys.js'
import { databaseUrlOf, lienthongEnv, startLienthong, waitUntil } from '../helpers/hub-process.js'

// The multi-node shape: a `lienthong worker` fetches CRLs, a separate `lienthong serve` gateway
// sharing only PostgreSQL picks them up, and its readiness follows the CRL it now verifies with.

const HOUR = 3_600_000
const ISSUING_DN = 'C=VN, O=Example PKI (NOT FOR PRODUCTION), CN=Example Government Issuing CA'

const pki = await buildExamplePki(new Date(), testRsaKeyPair)
const dir = t.testdir()
await writeExamplePkiFiles(dir, await examplePkiFiles(pki), true)

let published = Buffer.alloc(0)
const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(published) })
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => server.close())
const crlUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/issuing.crl`
const publish = async (crlNumber: number, nextInMs: number): Promise<void> => {
  published = Buffer.from(await issueCrl({ issuer: pki.issuing, thisUpdate: new Date(Date.now() - 60_000), nextUpdate: new Date(Date.now() + nextInMs), crlNumber }))
}

t.test('worker fetches, gateway in another process picks the CRL up, readiness follows it', async (t) => {
  const db = await testDatabase(t)
  const env = lienthongEnv({
    DATABASE_URL: databaseUrlOf(db),
    LIENTHONG_PORT: '0',
    LIENTHONG_QUEUE_PREFIX: `{lt-crl-${process.pid}}`,
    LIENTHONG_TRUST_DIR: join(dir, 'trust'),
    LIENTHONG_REGISTRY: join(dir, 'registry.json'),
    LIENTHONG_VERIFY_THREADS: '1',
    LIENTHONG_LOG_LEVEL: 'info',
    LIENTHONG_CRL_URLS: crlUrl,
    // A round a second (the lease keeps it to one worker), so the gateway polls every second too.
    LIENTHONG_CRL_REFRESH_MS: '1000',
    // The operator's token: readiness details are shown only to it.
    LIENTHONG_METRICS_TOKEN: 'crl-operator'
  })
  // nextUpdate in 2 h: fresh, but within the default 6 h margin.
  await publish(2, 2 * HOUR)
  // The worker with a margin its (5-year) certificates are inside of: it has no readiness, it logs.
  const [worker, gateway] = await Promise.all([startLienthong(t, 'worker', { ...env, LIENTHONG_CERT_EXPIRY_MARGIN_DAYS: '3650' }), startLienthong(t, 'serve', env)])
  t.match(worker.stdout, /"certificate":"push client certificate [^"]*".*within the 3650-day margin\): renew it/, 'the worker warns about its push client certificate')

  await waitUntil('the worker stores CRL 2', async () => (await storedCrls(db)).some((c) => c.issuer === ISSUING_DN && c.crlNumber === '2'), 30_000)
  await worker.waitForOutput(/CRL refresh: stored a newer CRL/, 10_000)
  t.match(worker.stdout, /"nextUpdate":"\d{4}-/, 'the refresh is logged with its nextUpdate')

  type Readiness = { status: string, checks: Record<string, { status: string, detail?: string, checkedAt?: string }> }
  const readiness = async (): Promise<Readiness> => await (await fetch(`${gateway.url}/health/ready`, { headers: { authorization: 'Bearer crl-operator' } })).json() as Readiness
  let seen: Readiness | undefined
  await waitUntil('the gateway sees the CRL near its nextUpdate', async () => {
    seen = await readiness()
    return seen.checks.revocationData?.status === 'fail'
  }, 30_000).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(seen)} ${gateway.describe()}`) })
  t.equal(seen?.status, 'not-ready')
  t.match(seen?.checks.revocationData?.detail, `CRL of ${ISSUING_DN} goes stale at`)
  t.match(seen?.checks.revocationData?.checkedAt, /^\d{4}-\d\d-\d\dT/, 'each check says when it ran')
  t.equal(seen?.checks.hubCertificate?.status, 'ok', 'the gateway\'s own margin (30 days)')
  t.equal(seen?.checks.tlsCertificate, undefined, 'no TLS on this gateway, and the push certificate is the workers\' business')

  await publish(3, 7 * 24 * HOUR)
  await waitUntil('the gateway sees the fresh CRL', async () => {
    seen = await readiness()
    return seen.checks.revocationData?.status === 'ok'
  }, 30_000).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(seen)}`) })
  t.match(seen?.checks.revocationData?.detail, /last refresh \S+ ok/)

  const [workerExit, gatewayExit] = await Promise.all([worker.stop(), gateway.stop()])
  t.equal(workerExit.code, 0, 'worker stops cleanly')
  t.equal(gatewayExit.code, 0, 'gateway stops cleanly')
})
