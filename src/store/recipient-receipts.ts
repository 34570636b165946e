import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'

/** A recipient's own signed receipt for a push delivery, with how its verification went. */
export interface RecipientReceiptRecord {
  deliveryId: string
  documentId: string
  recipientCode: string
  xml: string
  digestSha256: string
  verified: boolean
  reasonCode: string | null
  detail: string | null
  signerSubject: string | null
  signerFingerprintSha256: string | null
  signatureLogId: number
}

export async function insertRecipientReceipt (tx: Queryable, r: RecipientReceiptRecord): Promise<void> {
  await tx.query(
    `INSERT INTO recipient_receipts (id, delivery_id, document_id, recipient_code, xml, digest_sha256, verified, reason_code, detail,
       signer_subject, signer_fingerprint_sha256, signature_log_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [randomUUID(), r.deliveryId, r.documentId, r.recipientCode, r.xml, r.digestSha256, r.verified, r.reasonCode, r.detail,
      r.signerSubject, r.signerFingerprintSha256, r.signatureLogId])
}
