import { readFile } from 'node:fs/promises'
import t from 'tap'
import type { Browser, Page } from 'playwright-core'
import { CSV_COLUMNS } from '../../src/evidence/signature-log-export.js'
import { testUser } from '../helpers/accounts.js'
import { testHub } from '../helpers/hub.js'
import { launchBrowser } from './browser.js'
import { seedDocument, seedRefusal } from './seed.js'

// The console in a real browser (headless Chromium): a clerk finds a sent document by its number,
// reads its per-recipient timeline (one delivered, one failed), resends, downloads a receipt,
// switches to English; a clerk of another agency cannot open it; an auditor filters the
// signature log by reason code and exports CSV. One browser for the file.
t.setTimeout(90_000)

const A = '000.00.00.G22'
const B = '000.00.00.H41'

const hub = await testHub(t)
const base = await hub.app.listen({ port: 0, host: '127.0.0.1' })
const clerkA = await testUser(hub.db, 'clerk.a', 'clerk', A)
const clerkB = await testUser(hub.db, 'clerk.b', 'clerk', B)
const auditor = await testUser(hub.db, 'auditor.x', 'auditor')

const sent = await seedDocument(hub.db, {
  sender: A,
  number: '1235',
  notation: 'VPCP-KSTT',
  subject: 'Về việc triển khai trục liên thông',
  recipients: [
    { code: '000.00.00.H29', state: 'delivered', receipt: 'delivery' },
    { code: '000.00.00.G12', state: 'failed', attempts: 5, lastError: 'HTTP 400 from the recipient: malformed envelope', receipt: 'failure' }
  ]
})
await seedDocument(hub.db, { sender: A, number: '77', notation: 'UBND-VP', subject: 'Giấy mời họp', recipients: [{ code: B, state: 'queued' }] })
const other = await seedDocument(hub.db, { sender: B, number: '9', notation: 'STC-KH', subject: 'Báo cáo tài chính', recipients: [{ code: '000.00.00.G12', state: 'delivered' }] })
await seedRefusal(hub.db, B, 'CERT_REVOKED')
await seedRefusal(hub.db, A, 'SIGNATURE_INVALID')

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
  t.match(await failed.textContent(), /HTTP 400 from the recipient/, 'the failure\'s error is shown')

  const download = page.waitForEvent('download')
  await delivered.getByRole('link', { name: 'Biên nhận chuyển giao' }).click()
  const file = await (await download).path()
  t.match(await readFile(file, 'utf8'), `kind="delivery" delivery="${sent.deliveries['000.00.00.H29'] as string}"`, 'the delivery receipt downloads')

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
