// `npm run screenshots`: every console page in headless Chromium, saved to docs/screenshots/.
// Needs PostgreSQL and Redis as the tests do (TEST_DATABASE_URL, TEST_REDIS_URL).
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT } from '../../test/helpers/example-pki.js'
import { seedDocument, seedRefusal } from '../../test/console/seed.js'
import { changeUser } from '../../src/accounts/user-admin.js'
import { createAgencyApiKey } from '../../src/admin/agency-admin.js'
import { issueCheckpoint } from '../../src/evidence/signature-log-checkpoints.js'
import { TEST_ACTOR } from '../../test/helpers/accounts.js'
import { signIn, startConsoleHub, CLERK_AGENCY } from './harness.js'

const out = join(ROOT, 'docs', 'screenshots')
await mkdir(out, { recursive: true })
const hub = await startConsoleHub()
try {
  const db = hub.hub.db
  const doc = await seedDocument(db, {
    sender: CLERK_AGENCY,
    number: '1235',
    notation: 'VPCP-KSTT',
    subject: 'Về việc triển khai trục liên thông văn bản quốc gia',
    recipients: [
      { code: '000.00.00.H29', state: 'delivered', receipt: 'delivery' },
      { code: '000.00.00.G12', state: 'failed', attempts: 5, lastError: 'HTTP 400 from the recipient', receipt: 'failure' },
      { code: '000.00.00.H41', state: 'waiting_retry', attempts: 2, lastError: 'connection refused' }
    ]
  })
  for (let i = 1; i <= 8; i++) {
    await seedDocument(db, { sender: CLERK_AGENCY, number: String(100 + i), notation: 'UBND-VP', subject: `Giấy mời họp số ${i}`, recipients: [{ code: '000.00.00.H41', state: i % 3 === 0 ? 'failed' : 'delivered' }] })
  }
  await seedDocument(db, { sender: '000.00.00.H41', number: '9', notation: 'STC-KH', subject: 'Báo cáo tài chính quý III', recipients: [{ code: CLERK_AGENCY, state: 'downloaded' }] })
  await seedRefusal(db, '000.00.00.H41', 'CERT_REVOKED')
  await seedRefusal(db, CLERK_AGENCY, 'SIGNATURE_INVALID')

  // A checkpoint for the integrity page, and an admin action or two for the audit trail.
  await issueCheckpoint(db, hub.hub.context.hub)
  await createAgencyApiKey(db, TEST_ACTOR, CLERK_AGENCY, 'hệ thống quản lý văn bản')
  await changeUser(db, TEST_ACTOR, hub.users.clerk.user.id, { displayName: 'Nguyễn Thị Văn Thư' })

  const shots: Array<[string, 'clerk' | 'auditor' | 'admin', string, 'vi' | 'en']> = [
    ['sent', 'clerk', '/console/sent', 'vi'],
    ['received', 'clerk', '/console/received', 'vi'],
    ['document', 'clerk', `/console/documents/${doc.id}`, 'vi'],
    ['document-en', 'clerk', `/console/documents/${doc.id}?lang=en`, 'en'],
    ['signature-log', 'auditor', '/console/signature-log', 'vi'],
    ['integrity', 'auditor', '/console/integrity?run=1', 'vi'],
    ['admin-agencies', 'admin', '/console/admin/agencies', 'vi'],
    ['admin-agency', 'admin', `/console/admin/agencies/${CLERK_AGENCY}`, 'vi'],
    ['admin-trust', 'admin', '/console/admin/trust', 'vi'],
    ['admin-trust-en', 'admin', '/console/admin/trust?lang=en', 'en'],
    ['admin-users', 'admin', '/console/admin/users', 'vi'],
    ['admin-user', 'admin', `/console/admin/users/${hub.users.clerk.user.id}`, 'vi'],
    ['admin-audit', 'admin', '/console/admin/audit', 'vi']
  ]
  const login = await (await hub.browser.newContext({ baseURL: hub.base, viewport: { width: 1280, height: 800 } })).newPage()
  await login.goto('/console/login')
  await login.screenshot({ path: join(out, 'login.png'), fullPage: true })
  for (const [name, who, path, lang] of shots) {
    const page = await signIn(hub, who, lang)
    await page.goto(path)
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: true })
    process.stdout.write(`docs/screenshots/${name}.png\n`)
  }
  // The interactive API reference (public), with the operation list open.
  const docs = await (await hub.browser.newContext({ baseURL: hub.base, viewport: { width: 1280, height: 800 } })).newPage()
  await docs.goto('/docs')
  await docs.locator('.opblock').first().waitFor()
  await docs.screenshot({ path: join(out, 'api-docs.png'), fullPage: false })
  process.stdout.write('docs/screenshots/api-docs.png\n')
} finally {
  await hub.close()
}
