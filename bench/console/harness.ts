import type { Browser, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { testUser, type TestUser } from '../../test/helpers/accounts.js'
import { join } from 'node:path'
import { TrustStore } from '../../src/pki/trust-store.js'
import { PKI } from '../../test/helpers/example-pki.js'
import { testHub, type TestHub } from '../../test/helpers/hub.js'
import { CHROMIUM, CHROMIUM_ARGS } from '../../test/console/browser.js'

/** A listening test hub (fresh PostgreSQL schema, own Redis prefix) outside tap: teardowns run on close(). */
export interface ConsoleHub { hub: TestHub, base: string, browser: Browser, users: Record<'clerk' | 'auditor' | 'admin', TestUser>, close: () => Promise<void> }

export const CLERK_AGENCY = '000.00.00.G22'

export async function startConsoleHub (): Promise<ConsoleHub> {
  const teardowns: Array<() => unknown> = []
  const host = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }
  // The demo trust store: the admin's trust page shows its CAs and CRLs.
  const store = await TrustStore.load(join(PKI, 'trust'))
  const hub = await testHub(host as never, { trustStore: () => store })
  const base = await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const users = {
    clerk: await testUser(hub.db, 'clerk.g22', 'clerk', CLERK_AGENCY),
    auditor: await testUser(hub.db, 'auditor', 'auditor'),
    admin: await testUser(hub.db, 'admin', 'admin')
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
  return {
    hub,
    base,
    browser,
    users,
    close: async () => {
      await browser.close()
      for (const fn of teardowns.reverse()) await fn()
    }
  }
}

/** A page signed in through the login form. */
export async function signIn (console: ConsoleHub, who: 'clerk' | 'auditor' | 'admin', lang: 'vi' | 'en' = 'vi'): Promise<Page> {
  const context = await console.browser.newContext({ baseURL: console.base, viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  await page.goto(`/console/login?lang=${lang}`)
  await page.locator('#username').fill(console.users[who].user.username)
  await page.locator('#password').fill(console.users[who].password)
  await page.locator('button[type=submit]').click()
  await page.waitForLoadState('load')
  return page
}
