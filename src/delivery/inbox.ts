import type { Database, Queryable } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import { issueDeliveryReceipt, issueFailureNotice } from './delivery-receipts.js'
import { loadDelivery, markAcknowledged, markDownloaded, markPullFailed, recordEvent } from '../store/deliveries.js'
import { loadRaw } from '../store/documents.js'
import { inboxRows } from '../store/inbox.js'

export interface InboxItem {
  deliveryId: string
  documentId: string
  kind: 'document' | 'status'
  sender: string
  edxmlDocumentId: string | null
  subject: string | null
  statusCode: string | null
  state: 'available' | 'downloaded'
  sizeBytes: number
  availableAt: string
}

/** Keyset pagination: the cursor is the (created_at, id) of the last item seen, opaque to clients. */
export function encodeCursor (createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url')
}

export function decodeCursor (cursor: string): [string, string] | undefined {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|')
  if (at == null || id == null || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id)) return undefined
  return [at, id]
}

export async function listInbox (db: Queryable, agency: string, after: string | undefined, limit: number): Promise<{ items: InboxItem[], next: string | null } | 'bad-cursor'> {
  const position = after != null ? decodeCursor(after) : undefined
  if (after != null && position == null) return 'bad-cursor'
  const rows = await inboxRows(db, agency, position, limit + 1)
  const page = rows.slice(0, limit)
  const items = page.map((r) => ({
    deliveryId: r.id as string,
    documentId: r.document_id as string,
    kind: r.kind as 'document' | 'status',
    sender: r.sender_code as string,
    edxmlDocumentId: r.edxml_document_id as string | null,
    subject: r.subject as string | null,
    statusCode: r.status_code as string | null,
    state: r.state as 'available' | 'downloaded',
    sizeBytes: Number(r.size_bytes),
    availableAt: (r.created_at as Date).toISOString()
  }))
  const last = page[page.length - 1]
  const next = rows.length > limit && last != null ? encodeCursor(last.cursor_at as string, last.id as string) : null
  return { items, next }
}

/**
 * The bytes of a pull delivery for its recipient; the first download moves available ->
 * downloaded (not a HEAD: `markDownloaded: false`, no bytes were sent). A cancelled delivery is
 * withdrawn from the recipient: undefined, like one that does not exist.
 */
export async function downloadInboxItem (db: Database, agency: string, deliveryId: string, options: { markDownloaded?: boolean } = {}): Promise<Buffer | undefined> {
  const row = await loadDelivery(db, deliveryId)
  if (row == null || row.recipient_code !== agency || row.mode !== 'pull' || row.state === 'cancelled') return undefined
  const bytes = await loadRaw(db, row.document_id)
  if (row.state === 'available' && options.markDownloaded !== false) {
    await db.transaction(async (tx) => {
      if (await markDownloaded(tx, deliveryId)) await recordEvent(tx, deliveryId, 'downloaded', agency)
    })
  }
  return bytes
}

export type AckResult = { state: 'acknowledged' | 'failed', changed: boolean } | 'not-found' | { conflict: string }

/**
 * Transport acknowledgement (VDXP updateStatus done|fail). Idempotent: the same answer again
 * changes nothing and answers the same; a different answer after the fact is a conflict.
 */
export async function acknowledge (db: Database, hub: HubIdentity, agency: string, deliveryId: string, result: 'done' | 'fail', reason: string | undefined): Promise<AckResult> {
  return await db.transaction(async (tx): Promise<AckResult> => {
    const row = await loadDelivery(tx, deliveryId, true)
    if (row == null || row.recipient_code !== agency || row.mode !== 'pull') return 'not-found'
    const target = result === 'done' ? 'acknowledged' : 'failed'
    if (row.state === target) return { state: target, changed: false }
    if (row.state !== 'available' && row.state !== 'downloaded') return { conflict: `the delivery is already ${row.state}` }
    const at = new Date()
    if (target === 'acknowledged') {
      await markAcknowledged(tx, deliveryId)
      await issueDeliveryReceipt(tx, hub, row, 'pull', at)
    } else {
      const why = `the recipient reported failure${reason != null && reason !== '' ? `: ${reason}` : ''}`
      await markPullFailed(tx, deliveryId, why)
      await issueFailureNotice(tx, hub, row, why, at)
    }
    await recordEvent(tx, deliveryId, target, agency, reason)
    return { state: target, changed: true }
  })
}
