import { createPrivateKey, X509Certificate } from 'node:crypto'
import { workerData } from 'node:worker_threads'
import { fingerprintOf, type HubIdentity } from './hub-identity.js'
import { issueReceipt } from './receipts/sign.js'
import type { ReceiptFields } from './receipts/format.js'

/**
 * A thread of the receipt signing pool (receipt-signing-pool.ts): the hub identity arrives once as
 * workerData (the PEM texts, which loadHubIdentity already checked), each task is one receipt's
 * fields, the answer its signed XML. The key is parsed once here (a PEM crosses the thread
 * boundary as plain text); the rest of the identity is rebuilt so that the worker holds a real HubIdentity.
 */
export interface ReceiptSigningWorkerData {
  privateKeyPem: string
  certificatePem: string
}

const data = workerData as ReceiptSigningWorkerData
const leaf = new X509Certificate(data.certificatePem)
const hub: HubIdentity = {
  privateKeyPem: data.privateKeyPem,
  // Parsed once per thread, not once per receipt.
  privateKey: createPrivateKey(data.privateKeyPem),
  certificatePem: data.certificatePem,
  certificate: leaf,
  fingerprintSha256: fingerprintOf(leaf),
  notAfter: new Date(leaf.validTo)
}

export default function signReceiptTask (fields: ReceiptFields): string {
  return issueReceipt(fields, hub)
}
