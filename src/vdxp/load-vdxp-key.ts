import { readFile } from 'node:fs/promises'
import type { HubConfig } from '../config/config.js'
import { deriveVdxpKey } from './secret-box.js'

/** The key sealing VDXP secrets for this configuration (configured, or derived from the hub key file). */
export async function loadVdxpKey (config: Pick<HubConfig, 'vdxpSecretKey' | 'hubKeyFile'>): Promise<Buffer> {
  return deriveVdxpKey(config.vdxpSecretKey, config.vdxpSecretKey != null ? Buffer.alloc(0) : await readFile(config.hubKeyFile))
}
