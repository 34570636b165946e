import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { hubPinOf, verifyReceipt, type Receipt } from '../evidence/receipts.js'
import { readPemBlocks } from '../pki/pem.js'
import { TrustStore } from '../pki/trust-store.js'

export interface ReceiptCheckerOptions {
  trustDir: string
  /** The hub's signing certificate: a receipt signed by anyone else is refused. */
  hubCertFile: string
  requireRevocation: boolean
}

export interface ReceiptChecker {
  /** The pinned hub certificate's SHA-256 fingerprint, as `openssl x509 -fingerprint -sha256` prints it. */
  hubFingerprint: string
  /**
   * Verifies a receipt as an agency would offline (trust store path, hub pin, XML-DSig) and that
   * it says what is expected; throws with the reason otherwise.
   */
  check: (xml: string, expected: Partial<Record<string, string>> & { kind: Receipt['kind'] }) => Promise<Receipt>
}

export async function receiptChecker (options: ReceiptCheckerOptions): Promise<ReceiptChecker> {
  const block = readPemBlocks(await readFile(options.hubCertFile, 'latin1')).find((b) => b.label === 'CERTIFICATE')
  if (block == null) throw new Error(`${options.hubCertFile}: no hub certificate found`)
  const certificate = new X509Certificate(block.der)
  const hub = hubPinOf(certificate)
  const trustStore = await TrustStore.load(options.trustDir)
  return {
    hubFingerprint: certificate.fingerprint256,
    check: async (xml, expected) => {
      const result = await verifyReceipt(xml, trustStore, { hub, requireRevocation: options.requireRevocation })
      if (!result.ok) throw new Error(`the ${expected.kind} receipt does not verify: ${result.code} (${result.detail})`)
      const fields = result.fields as unknown as Record<string, unknown>
      for (const [key, value] of Object.entries(expected)) {
        if (fields[key] !== value) throw new Error(`the ${expected.kind} receipt says ${key} ${JSON.stringify(fields[key])}, expected ${JSON.stringify(value)}`)
      }
      return result.fields
    }
  }
}
