import { availableParallelism } from 'node:os'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import type { HubIdentity } from './hub-identity.js'
import type { ReceiptFields } from './receipts/format.js'
import type { ReceiptSigningWorkerData } from './receipt-signing-worker.js'

/**
 * Hub receipts signed off the event loop (issue 15): an RSA signature, the receipt parsed and
 * canonicalized, a few milliseconds of CPU per receipt that the main thread would otherwise spend
 * between HTTP requests. Threads are started once per hub identity; the pool has no waiting-line
 * limit of its own because every task comes from a request the verification pool already
 * admitted (its bounded line is the back pressure).
 */
export const RECEIPT_SIGNING_WORKER_FILE = fileURLToPath(new URL(`./receipt-signing-worker${extname(fileURLToPath(import.meta.url)) || '.js'}`, import.meta.url))

export interface ReceiptSigner {
  sign (fields: ReceiptFields): Promise<string>
  close (): Promise<void>
}

/**
 * Half the cores by default: the verification pool already has one thread per core, and a receipt
 * costs a fraction of a verification.
 */
export function createReceiptSigningPool (hub: HubIdentity, threads = Math.max(1, Math.floor(availableParallelism() / 2))): ReceiptSigner {
  const workerData: ReceiptSigningWorkerData = { privateKeyPem: hub.privateKeyPem, certificatePem: hub.certificatePem }
  const piscina = new Piscina<ReceiptFields, string>({ filename: RECEIPT_SIGNING_WORKER_FILE, minThreads: threads, maxThreads: threads, workerData })
  return {
    sign: async (fields) => await piscina.run(fields),
    close: async () => { await piscina.destroy() }
  }
}
