import { createHash, randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import { appendSignatureLog } from '../evidence/signature-log.js'
import type { VerificationPolicy } from '../verification/verification-policy.js'
import { verifySignedXml, type SignedXmlVerdict } from '../verification/verify-signed-xml.js'
import type { DeliveryRow } from './delivery-store.js'
import type { PushResponse } from './push-client.js'

const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#'

/**
 * A push answer is treated as the recipient's own signed receipt when it is XML carrying an
 * XML-DSig signature. Anything else (empty, JSON, plain text) is just an answer, kept as such in
 * deliveries.last_response.
 */
export function carriesSignedReceipt (response: PushResponse): boolean {
  const head = response.body.subarray(0, 1024).toString('utf8').trimStart().replace(/^\uFEFF/, '')
  return head.startsWith('<') && response.body.includes(XMLDSIG_NS) && response.body.includes('Signature')
}

/**
 * Verifies the receipt as signed by the recipient agency itself (its registered certificate,
 * full path validation and revocation). Runs outside any transaction: it is CPU work.
 */
export async function checkRecipientReceipt (policy: VerificationPolicy, row: DeliveryRow, response: PushResponse): Promise<SignedXmlVerdict> {
  if (response.truncated) {
    const digestSha256 = createHash('sha256').update(response.body).digest('hex')
    return { ok: false, digestSha256, code: 'PAYLOAD_TOO_LARGE', detail: 'the receipt is longer than the 64 KB kept of an answer' }
  }
  return await verifySignedXml(response.body, policy, row.recipient_code)
}

/**
 * Records the receipt and its verification: a signature-log entry (like every verification the
 * hub makes, flagged `recipient-receipt`) and the receipt row linked to the delivery. Inside the
 * transaction that marks the delivery delivered, so the receipt is never lost or doubled.
 */
export async function recordRecipientReceipt (tx: Queryable, row: DeliveryRow, body: Buffer, verdict: SignedXmlVerdict): Promise<{ verified: boolean, signatureLogId: number }> {
  const logged = await appendSignatureLog(tx, {
    claimedAgency: row.recipient_code,
    hubDocumentId: row.document_id,
    digestSha256: verdict.digestSha256,
    sizeBytes: body.length,
    ...(verdict.algorithms != null ? { algorithms: verdict.algorithms } : {}),
    ...(verdict.signer != null ? { signer: verdict.signer } : {}),
    ...(verdict.ok ? { chain: verdict.chain, revocation: verdict.revocation } : {}),
    verdict: verdict.ok ? 'accepted' : 'rejected',
    ...(verdict.ok ? {} : { reasonCode: verdict.code, detail: verdict.detail }),
    flags: ['recipient-receipt']
  })
  await tx.query(
    `INSERT INTO recipient_receipts (id, delivery_id, document_id, recipient_code, xml, digest_sha256, verified, reason_code, detail,
       signer_subject, signer_fingerprint_sha256, signature_log_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [randomUUID(), row.id, row.document_id, row.recipient_code, body.toString('utf8'), verdict.digestSha256, verdict.ok,
      verdict.ok ? null : verdict.code, verdict.ok ? null : verdict.detail, verdict.signer?.subject ?? null,
      verdict.signer?.fingerprintSha256 ?? null, logged.id])
  return { verified: verdict.ok, signatureLogId: logged.id }
}
