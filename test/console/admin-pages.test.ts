import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { Browser, Page } from 'playwright-core'
import { testUser } from '../helpers/accounts.js'
import { PKI } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { issueCheckpoint } from '../../src/evidence/signature-log-checkpoints.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { findUserByUsername } from '../../src/store/users.js'
import { launchBrowser } from './browser.js'
import { seedDocument, seedRefusal } from './seed.js'

// The console's admin and integrity pages and the /docs API reference in a real browser
// (headless Chromium): an admin creates a user and disables it, issues and revokes an agency API
// key, imports a CRL; an auditor runs the integrity check and reads "intact"; a clerk is refused
// the admin pages; /docs lists the routes and "try it out" calls the hub. No page may break its
// Content-Security-Policy. One browser for the file.
t.setTimeout(120_000)

const G22 = '000.00.00.G22'
const store = await TrustStore.load(join(PKI, 'trust'))

// Each browser profile's /favicon.ico is an unknown route without a credential (401): a failed
// authentication from 127.0.0.1; the budget must not run out in the middle of the file.
const hub = await testHub(t, { trustStore: () => store, authFailuresPerMinute: 10_000 })
const base = await hub.app.listen({ port: 0, host: '127.0.0.1' })
const admin = await testUser(hub.db, 'admin.x', 'admin')
const auditor = await testUser(hub.db, 'auditor.x', 'auditor')
const clerk = await testUser(hub.db, 'clerk.x', 'clerk', G22)
await seedDocument(hub.db, { sender: G22, number: '12', notation: 'VPCP', subject: 'Công văn', recipients: [{ code: '000.00.00.H41', state: 'delivered' }] })
await seedRefusal(hub.db, G22, 'SIGNATURE_INVALID')

const browser: Browser = await launchBrowser(t)
/** What the browser reported as blocked by a Content-Security-Policy (checked by the last test). */
const cspViolations: string[] = []

async function freshPage (who: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: base, acceptDownloads: true })
  t.teardown(async () => { await context.close() })
  const page = await context.newPage()
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(`${who}: ${m.text()}`) })
  page.on('pageerror', (e) => { cspViolations.push(`${who}: page error ${e.message}`) })
  return page
}

async function signedIn (username: string, password: string): Promise<Page> {
  const page = await freshPage(username)
  await page.goto('/console/login')
  await page.getByLabel('Tên đăng nhập').fill(username)
  await page.getByLabel('Mật khẩu').fill(password)
  await page.getByRole('button', { name: 'Đăng nhập' }).click()
  await page.waitForLoadState('load')
  return page
}

t.test('an admin creates a clerk, disables it; both in the audit trail; the clerk can no longer sign in', async (t) => {
  const page = await signedIn('admin.x', admin.password)
  await page.getByRole('link', { name: 'Người dùng' }).click()
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Người dùng')
  t.ok(await page.locator('tr[data-username="clerk.x"]').isVisible(), 'the existing users are listed')

  const form = page.locator('form[action="/console/admin/users"]')
  // A clerk without an agency is refused with the API's reason, and the form keeps what was typed.
  await form.getByLabel('Tên đăng nhập').fill('van.thu.moi')
  await form.getByLabel('Vai trò').selectOption('clerk')
  await form.getByRole('button', { name: 'Tạo' }).click()
  t.match(await page.getByRole('alert').textContent(), /Không thực hiện được: a clerk works for one agency/)
  t.equal(await form.getByLabel('Tên đăng nhập').inputValue(), 'van.thu.moi', 'typed values kept')

  const password = 'mật khẩu đủ dài cho văn thư 2026'
  await form.getByLabel('Họ tên').fill('Nguyễn Văn Thư')
  await form.getByLabel('Mã cơ quan (văn thư)').fill(G22)
  await form.getByLabel('Mật khẩu ban đầu').fill(password)
  await form.getByRole('button', { name: 'Tạo' }).click()
  await page.waitForURL(/\/console\/admin\/users\/[0-9a-f-]{36}\?done=created$/)
  t.equal(await page.getByRole('status').textContent(), 'Đã tạo người dùng van.thu.moi.')
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Người dùng van.thu.moi')
  t.match(await page.locator('dl.facts').textContent(), /Văn thư[\s\S]*000\.00\.00\.G22[\s\S]*Đang hoạt động/)

  // The new clerk signs in (another browser profile), then the admin disables the account.
  const clerkPage = await signedIn('van.thu.moi', password)
  t.match(clerkPage.url(), /\/console\/sent$/, 'the new clerk signs in')

  await page.getByRole('button', { name: 'Khoá tài khoản' }).click()
  await page.waitForURL(/done=disabled/)
  t.equal(await page.getByRole('status').textContent(), 'Đã khoá tài khoản; các phiên đăng nhập đã kết thúc.')
  t.match(await page.locator('dl.facts .state').getAttribute('class'), /tone-bad/, 'disabled: red')
  t.equal((await findUserByUsername(hub.db, 'van.thu.moi'))?.disabled, true, 'disabled in the database')

  await clerkPage.reload()
  t.match(clerkPage.url(), /\/console\/login\?next=.*&ended=1$/, 'the disabled clerk\'s session has ended')

  await page.getByRole('link', { name: 'Nhật ký quản trị' }).click()
  const actions = await page.locator('tbody tr td.mono:nth-child(3)').allTextContents()
  t.equal(actions[0], 'user.disable', 'newest first: the disable')
  t.ok(actions.indexOf('user.create') > 0, 'then, further down, the creation')
  t.match(await page.locator('tbody tr').first().textContent(), /admin\.x[\s\S]*user:van\.thu\.moi[\s\S]*"disabled":false[\s\S]*"disabled":true/, 'who, what, before and after')
  t.match(await page.locator('tbody tr').first().textContent(), /\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/, 'dates as dd/MM/yyyy HH:mm')
})

t.test('an admin resets a password and creates a personal token (shown once, it works), then revokes it', async (t) => {
  const target = await testUser(hub.db, 'kiem.tra.2', 'auditor')
  const page = await signedIn('admin.x', admin.password)
  await page.goto(`/console/admin/users/${target.user.id}?lang=en`)
  await page.getByLabel('New password').fill('short')
  await page.getByRole('button', { name: 'Reset the password' }).click()
  t.match(await page.getByRole('alert').textContent(), /^Not done: /, 'a weak password is refused with the policy\'s reason')
  const password = 'a new long enough password 2026'
  await page.getByLabel('New password').fill(password)
  await page.getByRole('button', { name: 'Reset the password' }).click()
  await page.waitForURL(/done=reset/)
  t.match(await page.getByRole('status').textContent(), /New password set/)
  t.match((await signedIn('kiem.tra.2', password)).url(), /\/console\/sent$/, 'the new password signs in (not sent back to the form)')

  await page.locator('form[action$="/tokens"]').getByLabel('Label').fill('báo cáo hằng tuần')
  await page.getByRole('button', { name: 'Create token' }).click()
  const token = (await page.locator('code.secret').textContent()) ?? ''
  t.match(token, /^lu_[0-9a-f]{12}_/, 'the token is shown once')
  t.notMatch(page.url(), /lu_/, 'never in the address bar')
  const me = await fetch(`${base}/api/session`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(me.status, 200, 'the token authenticates as the user')
  await page.locator('tr', { hasText: 'báo cáo hằng tuần' }).getByRole('button', { name: 'Revoke' }).click()
  await page.waitForURL(/done=revoked/)
  t.equal((await fetch(`${base}/api/session`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'revoked: refused')
})

t.test('an admin issues an agency API key (shown once, it works), then revokes it', async (t) => {
  const page = await signedIn('admin.x', admin.password)
  await page.getByRole('link', { name: 'Cơ quan' }).click()
  await page.getByRole('link', { name: G22 }).click()
  await page.waitForURL(`**/console/admin/agencies/${G22}`)
  await page.getByLabel('Nhãn (ví dụ: hệ thống QLVB)').fill('hệ thống QLVB mới')
  await page.getByRole('button', { name: 'Cấp khoá' }).click()
  const key = (await page.locator('code.secret').textContent()) ?? ''
  t.match(key, /^lt_/, 'the new key is shown')
  t.notMatch(page.url(), /lt_/, 'never in the address bar')
  const inbox = await fetch(`${base}/v1/inbox`, { headers: { authorization: `Bearer ${key}` } })
  t.equal(inbox.status, 200, 'the key opens the agency\'s inbox')

  const row = page.locator('tr', { hasText: 'hệ thống QLVB mới' })
  await row.getByRole('button', { name: 'Thu hồi' }).click()
  await page.waitForURL(/done=revoked/)
  t.match(await page.locator('tr', { hasText: 'hệ thống QLVB mới' }).locator('.state').textContent(), /Đã thu hồi \d{2}\/\d{2}\/\d{4}/)
  t.equal((await fetch(`${base}/v1/inbox`, { headers: { authorization: `Bearer ${key}` } })).status, 401, 'the revoked key is refused')
})

t.test('an admin adds a pull agency, registers and revokes its signing certificate, switches it to push', async (t) => {
  const page = await signedIn('admin.x', admin.password)
  await page.goto('/console/admin/agencies')
  const form = page.locator('form[action="/console/admin/agencies"]')
  await form.getByLabel('Mã định danh').fill('000.00.00.Z99')
  await form.getByLabel('Tên cơ quan').fill('Sở Thử nghiệm')
  await form.getByLabel('Cách nhận').selectOption('pull')
  await form.getByRole('button', { name: 'Thêm', exact: true }).click()
  await page.waitForURL('**/console/admin/agencies/000.00.00.Z99?done=created')
  t.equal(await page.getByRole('status').textContent(), 'Đã thêm cơ quan.')
  t.match(await page.locator('dl.facts').textContent(), /Sở Thử nghiệm[\s\S]*Kéo \(pull\)[\s\S]*Quản trị viên/)

  const leaf = await readFile(join(PKI, 'special', 'untrusted', 'cert.pem'), 'utf8')
  await page.getByLabel('Chứng thư ký số (PEM)').fill(leaf)
  await page.locator('form[action$="/signing-certificates"]').getByRole('button', { name: 'Đăng ký chứng thư' }).click()
  await page.waitForURL(/done=certAdded/)
  const cert = page.locator('tr[data-fingerprint]')
  t.equal(await cert.count(), 1, 'the certificate is listed by its fingerprint')
  t.match(await cert.locator('.state').textContent(), 'Còn hạn', 'valid until 2031: green')
  await cert.getByRole('button', { name: 'Thu hồi' }).click()
  await page.waitForURL(/done=certRevoked/)
  t.match(await page.locator('tr[data-fingerprint] .state').textContent(), /Đã thu hồi/)

  const edit = page.locator('form[action="/console/admin/agencies/000.00.00.Z99"]')
  await edit.getByLabel('Cách nhận').selectOption('push')
  await edit.getByRole('button', { name: 'Lưu' }).click()
  t.match(await page.getByRole('alert').textContent(), /a push agency needs its endpoint URL/, 'push without a URL is refused')
  const actions = (await hub.db.query<{ action: string }>("SELECT action FROM admin_audit WHERE target = 'agency:000.00.00.Z99' ORDER BY id")).rows.map((r) => r.action)
  t.same(actions, ['agency.create', 'agency.signing_cert_add', 'agency.signing_cert_revoke'], 'each change audited, the refused one not')
})

t.test('an admin reads the trust store\'s expiry and CRL freshness and imports a CRL', async (t) => {
  const page = await signedIn('admin.x', admin.password)
  await page.goto('/console/admin/trust?lang=en')
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Trust store')
  t.ok(await page.getByRole('heading', { name: 'Trust anchors (root CAs)' }).isVisible())
  t.ok((await page.locator('table').first().locator('.state.tone-ok').count()) >= 1, 'the root CA: valid, green')
  t.ok((await page.getByText('Fresh', { exact: true }).count()) >= 2, 'both CRLs fresh')
  const pem = await readFile(join(PKI, 'trust', 'issuing-ca.crl.pem'), 'latin1')
  await page.getByLabel('CRL as PEM (-----BEGIN X509 CRL-----)').fill(pem)
  await page.getByRole('button', { name: 'Import', exact: true }).click()
  t.match(await page.getByRole('status').textContent(), /^Imported the CRL of .*CN=/)
  await page.getByLabel('CRL as PEM (-----BEGIN X509 CRL-----)').fill('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n')
  await page.getByRole('button', { name: 'Import', exact: true }).click()
  t.match(await page.getByRole('alert').textContent(), /^Not done: not a CRL/, 'garbage is refused with the reason')
  const { rows } = await hub.db.query<{ action: string }>("SELECT action FROM admin_audit WHERE action = 'trust.crl_import'")
  t.equal(rows.length, 1, 'the import is audited once')

  await page.getByLabel('CA certificate (PEM): a self-signed root or an intermediate issued by a trusted CA').fill(await readFile(join(PKI, 'trust', 'root-ca.pem'), 'utf8'))
  await page.getByRole('button', { name: 'Add CA' }).click()
  t.match(await page.getByRole('alert').textContent(), /is already in the trust store/, 'a CA held already is refused')
  await page.getByLabel('CA certificate (PEM): a self-signed root or an intermediate issued by a trusted CA').fill(await readFile(join(PKI, 'special', 'untrusted', 'root-ca.pem'), 'utf8'))
  await page.getByRole('button', { name: 'Add CA' }).click()
  t.match(await page.getByRole('status').textContent(), /^Added trust anchor: .*Untrusted Example Root/)
})

t.test('an auditor runs the integrity check and reads "intact"', async (t) => {
  const page = await signedIn('auditor.x', auditor.password)
  await page.getByRole('link', { name: 'Toàn vẹn chuỗi' }).click()
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Toàn vẹn chuỗi nhật ký chữ ký')
  t.equal(await page.locator('#integrity-result').count(), 0, 'nothing is run before asked')
  await page.getByRole('button', { name: 'Kiểm tra ngay' }).click()
  await page.waitForURL(/run=1/)
  t.equal(await page.locator('#integrity-result [data-verdict]').first().textContent(), 'Nguyên vẹn')
  t.match(await page.locator('#integrity-result').textContent(), /Đã kiểm tra 2 mục \(số 1 đến 2\)/)
  t.equal(await page.getByRole('link', { name: 'Người dùng' }).count(), 0, 'no admin links for an auditor')
  t.equal((await page.goto('/console/admin/users'))?.status(), 403, 'and no admin page')
})

t.test('after a signed checkpoint, a changed entry: the auditor reads "broken" and the first broken link', async (t) => {
  const issued = await issueCheckpoint(hub.db, hub.context.hub)
  t.ok(issued.issued, 'a checkpoint of the intact log')
  const page = await signedIn('auditor.x', auditor.password)
  await page.goto('/console/integrity')
  t.match(await page.locator('dl.facts').first().textContent(), /Số mục\s*2/, 'the newest checkpoint: its entries')
  // Someone with database access rewrites an entry (the append-only trigger set aside).
  await hub.db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
  await hub.db.query('UPDATE signature_log SET size_bytes = size_bytes + 1 WHERE id = 2')
  await page.getByRole('button', { name: 'Kiểm tra ngay' }).click()
  await page.waitForURL(/run=1/)
  t.equal(await page.locator('#integrity-result [data-verdict]').first().textContent(), 'Bị phá vỡ')
  t.match(await page.locator('#integrity-result').textContent(), /Mắt xích hỏng đầu tiên: mục số 2[\s\S]*không khớp mã băm đã lưu/, 'the first broken link and why')
})

t.test('a clerk is refused the admin and integrity pages with a 403 page', async (t) => {
  const page = await signedIn('clerk.x', clerk.password)
  for (const path of ['/console/admin/users', '/console/admin/agencies', `/console/admin/agencies/${G22}`, '/console/admin/trust', '/console/admin/audit', '/console/integrity?run=1']) {
    const answer = await page.goto(path)
    t.equal(answer?.status(), 403, `${path}: 403`)
    t.equal(await page.getByRole('alert').textContent(), 'Bạn không có quyền xem trang này.', `${path}: a page saying so`)
  }
  const forged = await page.request.post(`/console/admin/agencies/${G22}/api-keys`, { form: { label: 'x' }, headers: { accept: 'text/html' } })
  t.equal(forged.status(), 403, 'nor can it post an admin form')
  const { rows } = await hub.db.query("SELECT 1 FROM agency_credentials WHERE label = 'x'")
  t.equal(rows.length, 0, 'nothing was created')
})

t.test('an admin form without the session\'s CSRF token is refused', async (t) => {
  const page = await signedIn('admin.x', admin.password)
  const forged = await page.request.post('/console/admin/users', { form: { username: 'forged', role: 'admin' }, headers: { accept: 'text/html' } })
  t.equal(forged.status(), 403)
  t.equal(await findUserByUsername(hub.db, 'forged'), undefined, 'no user created')
})

t.test('/docs lists the routes and "try it out" calls the hub with an API key', async (t) => {
  const page = await freshPage('docs')
  const answer = await page.goto('/docs')
  t.equal(answer?.status(), 200)
  t.match(answer?.headers()['content-security-policy'], /script-src 'self';/)
  t.notMatch(answer?.headers()['content-security-policy'], /unsafe-inline|unsafe-eval/)
  await page.locator('.opblock-summary-path[data-path="/v1/inbox"]').first().waitFor()
  for (const path of ['/v1/documents', '/api/admin/users', '/api/signature-log/integrity']) {
    t.ok(await page.locator(`.opblock-summary-path[data-path="${path}"]`).count() >= 1, `${path} listed`)
  }
  // Authorize with an agency API key, then GET /v1/inbox from the page.
  await page.getByRole('button', { name: /Authorize/ }).first().click()
  await page.locator('.modal-ux input[type=text]').fill(hub.keys[G22] as string)
  await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click()
  await page.locator('.modal-ux .auth-btn-wrapper button.btn-done').click()
  const op = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path[data-path="/v1/inbox"]') })
  await op.locator('.opblock-summary').click()
  await op.getByRole('button', { name: 'Try it out' }).click()
  const call = page.waitForResponse((r) => r.url().startsWith(`${base}/v1/inbox`))
  await op.getByRole('button', { name: 'Execute' }).click()
  t.equal((await call).status(), 200, 'the browser called GET /v1/inbox with the key')
  t.equal((await op.locator('.live-responses-table tbody .response-col_status').first().textContent())?.trim(), '200', 'the page shows the answer')
})

t.test('no page broke its Content-Security-Policy', async (t) => {
  t.same(cspViolations, [])
})
