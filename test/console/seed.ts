import { createHash, randomUUID } from 'node:crypto'
import type { Database } from '../../src/db/database.js'
import { appendSignatureLog } from '../../src/evidence/signature-log.js'

/**
 * Documents as the hub stores them after acceptance, written straight into PostgreSQL: the
 * console reads the hub's tables, and the pages' lists need documents in given states without
 * waiting for workers. The document whose delivery the browser test follows (one recipient
 * delivered, one failed) is not seeded: it is accepted and pushed to real recipient servers.
 */
export interface SeedRecipient { code: string, state: string, lastError?: string, attempts?: number, receipt?: 'delivery' | 'failure' }

export interface SeededDocument { id: string, deliveries: Record<string, string> }

export async function seedDocument (db: Database, doc: { sender: string, number: string, notation: string, subject: string, acceptedAt?: Date, recipients: SeedRecipient[] }): Promise<SeededDocument> {
  const id = randomUUID()
  const digest = createHash('sha256').update(id).digest('hex')
  const envelope = { kind: 'document', from: doc.sender, to: doc.recipients.map((r) => r.code), code: { number: doc.number, notation: doc.notation }, subject: doc.subject }
  const acceptedAt = doc.acceptedAt ?? new Date()
  const deliveries: Record<string, string> = {}
  await db.transaction(async (tx) => {
    const log = await appendSignatureLog(tx, { authenticatedAgency: doc.sender, claimedAgency: doc.sender, edxmlDocumentId: `${doc.sender},${doc.number}/${doc.notation}`, hubDocumentId: id, digestSha256: digest, sizeBytes: 100, verdict: 'accepted' })
    await tx.query(
      `INSERT INTO documents (id, kind, sender_code, edxml_document_id, digest_sha256, size_bytes, raw, envelope, signer, algorithms, flags, accepted_at, signature_log_id)
       VALUES ($1, 'document', $2, $3, $4, 100, $5, $6, '{}', '{}', '{}', $7, $8)`,
      [id, doc.sender, `${doc.sender},${doc.number}/${doc.notation}`, digest, Buffer.from('<edXML/>'), JSON.stringify(envelope), acceptedAt, log.id])
    await tx.query("INSERT INTO receipts (id, document_id, kind, xml) VALUES ($1, $2, 'acceptance', $3)", [randomUUID(), id, `<Receipt kind="acceptance" document="${id}"/>`])
    for (const r of doc.recipients) {
      const deliveryId = randomUUID()
      deliveries[r.code] = deliveryId
      await tx.query(
        `INSERT INTO deliveries (id, document_id, recipient_code, mode, state, enqueued, attempts, last_error)
         VALUES ($1, $2, $3, 'push', $4, true, $5, $6)`, [deliveryId, id, r.code, r.state, r.attempts ?? 1, r.lastError ?? null])
      if (r.receipt != null) {
        await tx.query('INSERT INTO receipts (id, document_id, delivery_id, kind, xml) VALUES ($1, $2, $3, $4, $5)',
          [randomUUID(), id, deliveryId, r.receipt, `<Receipt kind="${r.receipt}" delivery="${deliveryId}"/>`])
      }
    }
  })
  return { id, deliveries }
}

/** A refused submission in the signature log, with its reason code. */
export async function seedRefusal (db: Database, agency: string, reasonCode: string): Promise<number> {
  return await db.transaction(async (tx) => {
    const entry = await appendSignatureLog(tx, { authenticatedAgency: agency, claimedAgency: agency, digestSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 10, verdict: 'rejected', reasonCode })
    return entry.id
  })
}
