import { chromium, type Browser } from 'playwright-core'
import type { TeardownHost } from '../helpers/database.js'

/** Debian's Chromium (installed by .ci/run); playwright-core downloads no browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync']

/** One headless browser for a test file, closed at its end. */
export async function launchBrowser (t: TeardownHost): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
  t.teardown(async () => { await browser.close() })
  return browser
}
