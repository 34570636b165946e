import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import { issueReceipt } from '../evidence/receipts.js'
import type { ReceiptFields } from '../evidence/receipts.js'
import { insertReceipt } from '../store/documents.js'
import type { DeliveryRow } from '../store/deliveries.js'
import { scheduleReceiptCallback } from './receipt-callbacks.js'

/**
 * Proof for the sender: a hub-signed delivery receipt when a recipient got the document (push
 * answered 2xx, or pull acknowledged), a signed failure notice when delivery was given up.
 */
export async function issueDeliveryReceipt (tx: Queryable, hub: HubIdentity, delivery: DeliveryRow, method: 'push' | 'pull', at: Date): Promise<void> {
  const xml = issueReceipt(deliveryReceiptFields(delivery, method, at), hub)
  const id = randomUUID()
  await insertReceipt(tx, { id, documentId: delivery.document_id, deliveryId: delivery.id, kind: 'delivery', xml })
  await scheduleReceiptCallback(tx, id, delivery)
}

/**
 * The delivery receipt's fields, to be signed before the recording transaction (a push:
 * attempt-delivery.ts signs it in the receipt signing pool, off the event loop and outside any
 * transaction, then stores it with the delivered row in one statement).
 */
export function deliveryReceiptFields (delivery: DeliveryRow, method: 'push' | 'pull', at: Date): ReceiptFields {
  return {
    kind: 'delivery',
    issuedAt: at,
    hubDocumentId: delivery.document_id,
    deliveryId: delivery.id,
    ...(delivery.edxml_document_id != null ? { edxmlDocumentId: delivery.edxml_document_id } : {}),
    digestSha256: delivery.digest_sha256,
    sender: delivery.sender_code,
    recipient: delivery.recipient_code,
    method,
    ...acceptanceEntry(delivery)
  }
}

export async function issueFailureNotice (tx: Queryable, hub: HubIdentity, delivery: DeliveryRow, reason: string, at: Date): Promise<void> {
  const xml = issueReceipt({
    kind: 'failure',
    issuedAt: at,
    hubDocumentId: delivery.document_id,
    deliveryId: delivery.id,
    ...(delivery.edxml_document_id != null ? { edxmlDocumentId: delivery.edxml_document_id } : {}),
    digestSha256: delivery.digest_sha256,
    sender: delivery.sender_code,
    recipient: delivery.recipient_code,
    reason: reason.slice(0, 1000),
    ...acceptanceEntry(delivery)
  }, hub)
  const id = randomUUID()
  await insertReceipt(tx, { id, documentId: delivery.document_id, deliveryId: delivery.id, kind: 'failure', xml })
  await scheduleReceiptCallback(tx, id, delivery)
}

/** The document's acceptance entry (id and entry_hash), when the row names one. */
function acceptanceEntry (delivery: DeliveryRow): { signatureLogEntry?: number, signatureLogEntryHash?: string } {
  if (delivery.signature_log_id == null || delivery.signature_log_hash == null) return {}
  return { signatureLogEntry: Number(delivery.signature_log_id), signatureLogEntryHash: delivery.signature_log_hash }
}
