import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { Browser, Page } from 'playwright-core'
import { startDeliveryWorker } from '../../src/delivery/delivery-worker.js'
import { hubPinOf, verifyReceipt } from '../../src/evidence/receipts.js'
import { CSV_COLUMNS } from '../../src/evidence/signature-log-export.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { signEdxml } from '../../src/signing/sign-document.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity, REDIS_URL } from '../helpers/hub.js'
import { recipientServer, WORKER_TLS } from '../helpers/recipient-server.js'
import { testUser } from '../helpers/accounts.js'
import { testHub } from '../helpers/hub.js'
import { launchBrowser } from './browser.js'
import { seedDocument, seedRefusal } from './seed.js'

// The console in a real browser (headless Chromium): a clerk finds a sent document by its number,
// reads its per-recipient timeline (one delivered, one failed), resends, downloads a receipt,
// switches to English; a clerk of another agency cannot open it; an auditor filters the
// signature log by reason code and exports CSV. One browser for the file.
//
// The document the clerk follows goes the real way: signed by A, accepted by POST /v1/documents,
// pushed by a delivery worker over mutual TLS to two recipient servers, one answering 200 and one
// 400 (a permanent refusal), so "one delivered, one failed" and both receipts are the hub's own.
t.setTimeout(120_000)

const A = '000.00.00.G22'
const B = '000.00.00.H41'
const DELIVERED = '000.00.00.H29'
const FAILED = '000.00.00.G12'

const hub = await testHub(t)
const base = await hub.app.listen({ port: 0, host: '127.0.0.1' })
const clerkA = await testUser(hub.db, 'clerk.a', 'clerk', A)
const clerkB = await testUser(hub.db, 'clerk.b', 'clerk', B)
const auditor = await testUser(hub.db, 'auditor.x', 'auditor')

const sent = await deliverForReal()
await seedDocument(hub.db, { sender: A, number: '77', notation: 'UBND-VP', subject: 'Giấy mời họp', recipients: [{ code: B, state: 'queued' }] })
const other = await seedDocument(hub.db, { sender: B, number: '9', notation: 'STC-KH', subject: 'Báo cáo tài chính', recipients: [{ code: '000.00.00.G12', state: 'delivered' }] })
await seedRefusal(hub.db, B, 'CERT_REVOKED')
await seedRefusal(hub.db, A, 'SIGNATURE_INVALID')

/** A's document 1235/VPCP-KSTT to DELIVERED and FAILED, delivered by a real worker; the worker stops once both are final (so a resend stays queued for the page to show). */
async function deliverForReal (): Promise<{ id: string, deliveries: Record<string, string> }> {
  const healthy = await recipientServer(t, { behaviour: { kind: 'healthy' } })
  const refusing = await recipientServer(t, { behaviour: { kind: 'permanent400' } })
  await hub.db.query('UPDATE agencies SET delivery_mode = \'push\', push_url = $1 WHERE code = $2', [healthy.url, DELIVERED])
  // Both servers present the example recipient certificate: FAILED gets DELIVERED's pin, so its
  // 400 is the recipient's answer, not the hub refusing an unpinned endpoint.
  await hub.db.query(`UPDATE agencies SET delivery_mode = 'push', push_url = $1,
    (push_server_certificates, push_server_subject) = (SELECT push_server_certificates, push_server_subject FROM agencies WHERE code = $3) WHERE code = $2`, [refusing.url, FAILED, DELIVERED])
  const template = readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8')
  const to = /<edXML:To>[\s\S]*?<\/edXML:To>/.exec(template)?.[0] as string
  const xml = template
    .replace(to, `${to.replace(/<edXML:OrganId>[^<]+/, `<edXML:OrganId>${FAILED}`)}\n        ${to.replace(/<edXML:OrganId>[^<]+/, `<edXML:OrganId>${DELIVERED}`)}`)
    .replace('<edXML:CodeNumber>1234<', '<edXML:CodeNumber>1235<')
    .replace('000.00.00.G22,2026/11/20,1234/VPCP-KSTT', '000.00.00.G22,2026/11/20,1235/VPCP-KSTT')
    .replace(/<edXML:Subject>[^<]*</, '<edXML:Subject>Về việc triển khai trục liên thông<')
  const pem = (name: string): string => readFileSync(join(PKI, 'agencies', A, name), 'utf8')
  const signed = signEdxml(xml, { privateKeyPem: pem('key.pem'), certificatePem: pem('cert.pem') + pem('chain.pem') })
  const accepted = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${hub.keys[A] as string}` }, payload: signed })
  if (accepted.statusCode !== 202) throw new Error(`not accepted: ${accepted.body}`)
  const answer = accepted.json<{ id: string, recipients: Array<{ code: string, deliveryId: string }> }>()
  const prefix = (hub.queue?.queue.opts as { prefix?: string } | undefined)?.prefix as string
  const worker = startDeliveryWorker({ db: hub.db, hub: hub.context.hub, redisUrl: REDIS_URL, prefix, concurrency: 4, perRecipient: 2, timeoutMs: 5000, retry: { baseDelayMs: 100, maxDelayMs: 500, windowMs: 10_000 }, tls: WORKER_TLS })
  try {
    for (let i = 0; ; i++) {
      const { rows } = await hub.db.query<{ recipient_code: string, state: string }>('SELECT recipient_code, state FROM deliveries WHERE document_id = $1 ORDER BY recipient_code', [answer.id])
      if (rows.map((r) => r.state).join() === 'failed,delivered') break
      if (i > 300) throw new Error(`deliveries did not settle: ${JSON.stringify(rows)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await worker.close(5000)
  }
  return { id: answer.id, deliveries: Object.fromEntries(answer.recipients.map((r) => [r.code, r.deliveryId])) }
}

const browser: Browser = await launchBrowser(t)
/** What the browser reported as blocked by the pages' CSP (checked by the last test). */
const cspViolations: string[] = []

/** A fresh browser profile signed in through the login form. */
async function signedIn (username: string, password: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: base, acceptDownloads: true })
  t.teardown(async () => { await context.close() })
  const page = await context.newPage()
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${username}: ${m.text()}`) })
  await page.goto('/console/sent')
  t.match(page.url(), /\/console\/login\?next=/, 'signed out: the console sends the browser to the sign-in form')
  await page.getByLabel('Tên đăng nhập').fill(username)
  await page.getByLabel('Mật khẩu').fill(password)
  await page.getByRole('button', { name: 'Đăng nhập' }).click()
  await page.waitForLoadState('load')
  return page
}

t.test('a wrong password shows the form again with a message, in Vietnamese', async (t) => {
  const context = await browser.newContext({ baseURL: base })
  t.teardown(async () => { await context.close() })
  const page = await context.newPage()
  const answer = await page.goto('/console/login')
  t.match(answer?.headers()['content-security-policy'], /script-src 'self'/, 'CSP without unsafe-inline scripts')
  t.notMatch(answer?.headers()['content-security-policy'], /unsafe-inline/)
  await page.getByLabel('Tên đăng nhập').fill('clerk.a')
  await page.getByLabel('Mật khẩu').fill('not the password at all')
  await page.getByRole('button', { name: 'Đăng nhập' }).click()
  t.equal(await page.getByRole('alert').textContent(), 'Tên đăng nhập hoặc mật khẩu không đúng.')
  t.match(page.url(), /\/console\/login$/)
})

t.test('a clerk finds a sent document by number, reads the timeline, resends, downloads a receipt', async (t) => {
  const page = await signedIn('clerk.a', clerkA.password)
  t.match(page.url(), /\/console\/sent$/, 'after sign-in: the sent documents')
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Văn bản đi')
  t.equal(await page.locator('tbody tr').count(), 2, 'both of A\'s documents, not B\'s')
  t.notOk(await page.getByText('STC-KH').isVisible(), 'B\'s document is not in A\'s list')

  await page.getByLabel('Số/ký hiệu').fill('1235')
  await page.getByRole('button', { name: 'Lọc' }).click()
  await page.waitForURL(/number=1235/)
  t.equal(await page.locator('tbody tr').count(), 1, 'the filter by number finds one document')
  t.match(await page.locator('tbody').textContent(), /\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/, 'dates as dd/MM/yyyy HH:mm')
  await page.getByRole('link', { name: '1235/VPCP-KSTT' }).click()
  await page.waitForURL(new RegExp(`/console/documents/${sent.id}$`))

  const delivered = page.locator('tr[data-recipient="000.00.00.H29"]')
  const failed = page.locator('tr[data-recipient="000.00.00.G12"]')
  t.match(await delivered.locator('.state').textContent(), 'Đã chuyển', 'one recipient delivered, said in words')
  t.match(await delivered.locator('.state').getAttribute('class'), /tone-ok/)
  t.match(await failed.locator('.state').textContent(), 'Thất bại', 'one recipient failed')
  t.match(await failed.locator('.state').getAttribute('class'), /tone-bad/)
  t.match(await failed.textContent(), /refused by the recipient: HTTP 400/, 'the failure\'s error (the recipient server\'s real 400) is shown')

  const download = page.waitForEvent('download')
  await delivered.getByRole('link', { name: 'Biên nhận chuyển giao' }).click()
  const file = await (await download).path()
  const check = await verifyReceipt(await readFile(file, 'utf8'), await TrustStore.load(join(PKI, 'trust')), { hub: hubPinOf((await exampleHubIdentity()).certificate) })
  t.match(check, { ok: true, fields: { kind: 'delivery', deliveryId: sent.deliveries[DELIVERED] } }, 'the hub\'s signed delivery receipt downloads and verifies')

  t.equal(await delivered.getByRole('button', { name: 'Gửi lại' }).count(), 0, 'a delivered recipient offers no resend')
  await failed.getByRole('button', { name: 'Gửi lại' }).click()
  await page.waitForURL(/resent=1/)
  t.equal(await page.getByRole('status').textContent(), 'Đã gửi lại.')
  t.match(await page.locator('tr[data-recipient="000.00.00.G12"] .state').textContent(), 'Đang chờ gửi', 'the failed delivery is queued again')
  const audit = await hub.db.query<{ action: string, target: string }>("SELECT action, target FROM admin_audit WHERE action = 'delivery.resend'")
  t.same(audit.rows, [{ action: 'delivery.resend', target: `delivery:${sent.deliveries['000.00.00.G12'] as string}` }], 'the resend is in the audit trail')
})

t.test('the English switch translates the pages and is remembered', async (t) => {
  const page = await signedIn('clerk.a', clerkA.password)
  await page.goto(`/console/documents/${sent.id}`)
  await page.getByRole('link', { name: 'English' }).click()
  await page.waitForURL(/lang=en/)
  t.equal(await page.locator('html').getAttribute('lang'), 'en')
  t.match(await page.locator('tr[data-recipient="000.00.00.H29"] .state').textContent(), 'Delivered')
  await page.getByRole('link', { name: 'Sent', exact: true }).click()
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sent documents', 'the next page is English too (cookie)')
  await page.getByRole('link', { name: 'Tiếng Việt' }).click()
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Văn bản đi', 'and back to Vietnamese')
})

t.test('a clerk of B cannot open A\'s document, its receipts or its resend', async (t) => {
  const page = await signedIn('clerk.b', clerkB.password)
  const answer = await page.goto(`/console/documents/${sent.id}`)
  t.equal(answer?.status(), 404, 'another agency\'s document is "not found", as for an id that does not exist')
  t.notMatch(await page.content(), /VPCP-KSTT|triển khai/, 'nothing of the document leaks')
  const acceptance = await hub.db.query<{ id: string }>("SELECT id FROM receipts WHERE document_id = $1 AND kind = 'acceptance'", [sent.id])
  t.equal((await page.goto(`/console/receipts/${acceptance.rows[0]?.id as string}`))?.status(), 404, 'nor its receipt')
  t.equal((await page.goto(`/console/documents/${other.id}`))?.status(), 200, 'B\'s own document opens')
  const forged = await page.request.post(`/console/deliveries/${sent.deliveries['000.00.00.G12'] as string}/resend`, { form: { _csrf: 'x' }, headers: { accept: 'text/html' } })
  t.equal(forged.status(), 403, 'a form without this session\'s CSRF token is refused')
  const logPage = await page.goto('/console/signature-log')
  t.equal(logPage?.status(), 403, 'a clerk is refused the signature log')
})

t.test('an auditor filters the signature log by reason code and exports CSV', async (t) => {
  const page = await signedIn('auditor.x', auditor.password)
  await page.goto('/console/signature-log')
  await page.getByLabel('Mã lý do').fill('CERT_REVOKED')
  await page.getByRole('button', { name: 'Lọc' }).click()
  await page.waitForURL(/reason=CERT_REVOKED/)
  t.equal(await page.locator('tbody tr').count(), 1, 'one refusal with that reason')
  t.match(await page.locator('tbody tr').textContent(), B)
  const download = page.waitForEvent('download')
  await page.getByRole('link', { name: 'Xuất CSV' }).click()
  const csv = (await readFile(await (await download).path(), 'utf8')).trim().split('\r\n')
  t.equal(csv[0], CSV_COLUMNS.join(','), 'the auditor API\'s CSV columns')
  t.equal(csv.length, 2, 'the export has the filter\'s one row')
  t.match(csv[1], `,rejected,CERT_REVOKED,${B},${B},`)
})

t.test('no page broke its own Content-Security-Policy', async (t) => {
  t.same(cspViolations, [])
})
