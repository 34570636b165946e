import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DemoSetupError } from './demo-setup-error.js'

/**
 * The demo API keys the hub writes to <dataDir>/demo-api-keys.json when it starts with the demo
 * registry (src/hub/run-hub.ts): agency code -> key.
 */
export async function readDemoKeys (dataDir: string, hint: string): Promise<{ keys: Record<string, string>, file: string }> {
  const file = join(dataDir, 'demo-api-keys.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new DemoSetupError(`no demo API keys in ${file} (${code ?? (err as Error).message}): ${hint}`)
  }
  try {
    const keys = JSON.parse(text) as unknown
    if (keys == null || typeof keys !== 'object' || Array.isArray(keys)) throw new Error('not an object')
    return { keys: keys as Record<string, string>, file }
  } catch (err) {
    throw new DemoSetupError(`${file} is not the hub's demo API keys file (${(err as Error).message}): delete it and restart the hub`)
  }
}
