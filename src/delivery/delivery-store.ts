import type { Queryable } from '../db/database.js'

export interface DeliveryRow {
  id: string
  document_id: string
  recipient_code: string
  mode: 'push' | 'pull'
  state: string
  attempts: number
  created_at: Date
  next_attempt_at: Date | null
  push_url: string | null
  /** The push endpoint's server-certificate pin (migration 009_push_endpoint_pins). */
  push_server_certificates: string[] | null
  push_server_subject: Record<string, string> | string | null
  sender_code: string
  digest_sha256: string
  edxml_document_id: string | null
  kind: 'document' | 'status'
  /** The document's acceptance entry in the signature log (cited by delivery receipts). */
  signature_log_id: number | string | null
  signature_log_hash: string | null
}

export const TERMINAL_STATES = new Set(['delivered', 'failed', 'cancelled', 'acknowledged'])
export const OPEN_PUSH_STATES = ['queued', 'sending', 'waiting_retry'] as const

/** The delivery with what delivering it needs; row-locked when `forUpdate`. */
export async function loadDelivery (db: Queryable, id: string, forUpdate = false): Promise<DeliveryRow | undefined> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT x.id, x.document_id, x.recipient_code, x.mode, x.state, x.attempts, x.created_at, x.next_attempt_at,
            a.push_url, a.push_server_certificates, a.push_server_subject, d.sender_code, d.digest_sha256, d.edxml_document_id, d.kind,
            d.signature_log_id, (SELECT sl.entry_hash FROM signature_log sl WHERE sl.id = d.signature_log_id) AS signature_log_hash
     FROM deliveries x JOIN documents d ON d.id = x.document_id JOIN agencies a ON a.code = x.recipient_code
     WHERE x.id = $1${forUpdate ? ' FOR UPDATE OF x' : ''}`, [id])
  return rows[0]
}

export async function recordEvent (db: Queryable, deliveryId: string, event: string, actor: string, detail?: string): Promise<void> {
  await db.query('INSERT INTO delivery_events (delivery_id, event, actor, detail) VALUES ($1, $2, $3, $4)', [deliveryId, event, actor, detail ?? null])
}

/** The bytes are gone: removed after retention (raw_removed_at) — never for an open delivery. */
export class ContentExpiredError extends Error {
  constructor (readonly documentId: string) {
    super(`the bytes of document ${documentId} were removed after the retention period`)
    this.name = 'ContentExpiredError'
  }
}

export async function loadRaw (db: Queryable, documentId: string): Promise<Buffer> {
  const { rows } = await db.query<{ raw: Uint8Array | null, raw_removed_at: Date | null }>('SELECT raw, raw_removed_at FROM documents WHERE id = $1', [documentId])
  const raw = rows[0]?.raw
  if (raw == null && rows[0]?.raw_removed_at != null) throw new ContentExpiredError(documentId)
  if (raw == null) throw new Error(`document ${documentId} has no stored bytes`)
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
}
