import type { Database } from '../db/database.js'
import { appendSignatureLog } from '../evidence/signature-log.js'

/**
 * A document refused by the size cap from its Content-Length, before a byte of it was read, still
 * leaves its signature-log entry (every authenticated submission does): verdict rejected,
 * PAYLOAD_TOO_LARGE, the declared size, who sent it. Only authenticated attempts are evidence: the
 * agency is required (a request without a valid credential is a 401 and never gets here). The
 * hub never saw the bytes, so there is no digest: digestSha256 is empty and the entry is flagged
 * `body-not-read`. `requestId` is the hub's own (never a client's X-Request-Id).
 */
export async function logSizeRefusal (db: Database, refusal: { requestId: string, declaredBytes?: number, maxBytes: number, authenticatedAgency: string }): Promise<number> {
  if (refusal.authenticatedAgency === '') throw new Error('a size refusal is logged only for an authenticated agency')
  const logged = await db.transaction(async (tx) => await appendSignatureLog(tx, {
    requestId: refusal.requestId,
    authenticatedAgency: refusal.authenticatedAgency,
    digestSha256: '',
    // Chunked uploads have no declared size: they were cut off once past the cap.
    sizeBytes: refusal.declaredBytes ?? refusal.maxBytes,
    verdict: 'rejected',
    reasonCode: 'PAYLOAD_TOO_LARGE',
    detail: refusal.declaredBytes != null
      ? `Content-Length ${refusal.declaredBytes} is over the cap of ${refusal.maxBytes} bytes; the body was not read`
      : `the chunked body grew over the cap of ${refusal.maxBytes} bytes and was not read further`,
    flags: ['body-not-read']
  }))
  return logged.id
}
