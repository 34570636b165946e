import type { Queryable } from '../db/database.js'
import type { StaffInfo } from '../domain/verdict.js'
import { cursorTimeSql, decodeCursor, encodeCursor, type KeysetPosition } from './keyset-cursor.js'

/**
 * The clerk's tracking lists: documents an agency sent, and documents it received, with filters
 * and newest-first keyset pages (indexes: migration 021). Sent documents are ordered by
 * (accepted_at, id); received ones by (the agency's delivery created_at, document id), so each
 * list walks one index in order and stops after a page.
 */
export type Direction = 'sent' | 'received'

export interface TrackingFilter {
  /** The agency whose documents are listed; null: every agency (auditors and admins only). */
  agency: string | null
  direction: Direction
  from?: string
  to?: string
  /** Sent: one of the recipients; received: the sender. */
  counterpart?: string
  /** Sent: some recipient's delivery is in this state; received: the agency's own delivery is. */
  state?: string
  /** Some status message (01-16) about the document carries this code. */
  statusCode?: string
  /** Số (CodeNumber), exactly. */
  number?: string
  /** Ký hiệu (CodeNotation), part of it, case-insensitive. */
  notation?: string
  /** Part of the subject (trích yếu), case-insensitive. */
  subject?: string
}

export interface TrackedRecipient {
  deliveryId: string
  recipient: string
  mode: string
  state: string
  attempts: number
  lastError: string | null
  deliveredAt: string | null
  updatedAt: string
  /** The recipient's latest status message about the document. */
  latestStatus: { code: string, description: string | null, at: string } | null
}

export interface TrackedDocument {
  id: string
  edxmlDocumentId: string | null
  sender: string
  number: string | null
  notation: string | null
  subject: string | null
  acceptedAt: string
  /** Sent: every recipient; received: only the listing agency's own delivery. */
  recipients: TrackedRecipient[]
}

const CURSOR: Record<Direction, string> = { sent: 'sent', received: 'recv' }

export interface TrackedPage {
  documents: TrackedDocument[]
  /** Cursor of the next (older) page; null on the last one. */
  next: string | null
  /** Cursor of the previous (newer) page, for `before`; null on the first one. */
  previous: string | null
}

/**
 * One page, or 'bad-cursor' when the cursor is not one of this list issued by the hub. `after`:
 * the page older than the cursor (the API's `next`); `before`: the page newer than it (the
 * console's "previous" link), read in ascending order and turned round.
 */
export async function listTracked (db: Queryable, filter: TrackingFilter, options: { limit: number, after?: string, before?: string }): Promise<TrackedPage | 'bad-cursor'> {
  const backwards = options.before != null && options.after == null
  const cursor = options.after ?? options.before
  let position: KeysetPosition | undefined
  if (cursor != null) {
    position = decodeCursor(CURSOR[filter.direction], cursor)
    if (position == null || !/^[0-9a-f]{8}-/.test(position.id)) return 'bad-cursor'
  }
  const params: unknown[] = []
  const p = (value: unknown, cast = ''): string => { params.push(value); return `$${params.length}${cast}` }
  // Received with an agency: driven by that agency's deliveries; otherwise by the documents.
  const byDelivery = filter.direction === 'received' && filter.agency != null
  const time = byDelivery ? 'r.created_at' : 'd.accepted_at'
  const where: string[] = ['d.kind = \'document\'']
  if (byDelivery) where.push(`r.recipient_code = ${p(filter.agency)}`)
  else if (filter.agency != null) where.push(`d.sender_code = ${p(filter.agency)}`)
  if (filter.from != null) where.push(`${time} >= ${p(filter.from, '::timestamptz')}`)
  if (filter.to != null) where.push(`${time} < ${p(filter.to, '::timestamptz')}`)
  if (byDelivery) {
    if (filter.counterpart != null) where.push(`d.sender_code = ${p(filter.counterpart)}`)
    if (filter.state != null) where.push(`r.state = ${p(filter.state)}`)
  } else if (filter.counterpart != null || filter.state != null) {
    // One delivery must satisfy both: "the delivery to B is failed", not "to B, and some failed".
    const conditions = ['x.document_id = d.id']
    if (filter.counterpart != null) conditions.push(`x.recipient_code = ${p(filter.counterpart)}`)
    if (filter.state != null) conditions.push(`x.state = ${p(filter.state)}`)
    where.push(`EXISTS (SELECT 1 FROM deliveries x WHERE ${conditions.join(' AND ')})`)
  }
  if (filter.statusCode != null) where.push(`EXISTS (SELECT 1 FROM status_events e WHERE e.document_id = d.id AND e.status_code = ${p(filter.statusCode)})`)
  if (filter.number != null) where.push(`d.envelope->'code'->>'number' = ${p(filter.number)}`)
  // ILIKE on the indexed expressions (trigram indexes, migration 024); the text is searched for
  // literally: % _ and \ are escaped, so a clerk's "50%" is not a pattern.
  if (filter.notation != null) where.push(`d.envelope->'code'->>'notation' ILIKE ${p(containsPattern(filter.notation))}`)
  if (filter.subject != null) where.push(`d.envelope->>'subject' ILIKE ${p(containsPattern(filter.subject))}`)
  if (position != null) where.push(`(${time}, d.id) ${backwards ? '>' : '<'} (${p(position.time, '::timestamptz')}, ${p(position.id, '::uuid')})`)
  const order = backwards ? 'ASC' : 'DESC'
  const limit = p(options.limit + 1)
  const { rows } = await db.query<{ id: string, edxml_document_id: string | null, sender_code: string, number: string | null, notation: string | null, subject: string | null, accepted_at: Date, cursor_time: string }>(
    `SELECT d.id, d.edxml_document_id, d.sender_code, d.envelope->'code'->>'number' AS number, d.envelope->'code'->>'notation' AS notation,
            d.envelope->>'subject' AS subject, d.accepted_at, ${cursorTimeSql(time)} AS cursor_time
       FROM ${byDelivery ? 'deliveries r JOIN documents d ON d.id = r.document_id' : 'documents d'}
      WHERE ${where.join(' AND ')}
      ORDER BY ${time} ${order}, d.id ${order} LIMIT ${limit}`, params)
  const more = rows.length > options.limit
  const page = rows.slice(0, options.limit)
  if (backwards) page.reverse()
  const recipients = await recipientsOf(db, page.map((r) => r.id), byDelivery ? filter.agency : null)
  const cursorOf = (row: typeof page[number] | undefined): string | null => row == null ? null : encodeCursor(CURSOR[filter.direction], { time: row.cursor_time, id: row.id })
  // Forward: an older page exists when more rows were found, a newer one whenever we came from a
  // cursor. Backward: the mirror image.
  return {
    documents: page.map((r) => ({
      id: r.id,
      edxmlDocumentId: r.edxml_document_id,
      sender: r.sender_code,
      number: r.number,
      notation: r.notation,
      subject: r.subject,
      acceptedAt: iso(r.accepted_at),
      recipients: recipients.get(r.id) ?? []
    })),
    next: (backwards ? position != null : more) ? cursorOf(page[page.length - 1]) : null,
    previous: (backwards ? more : position != null) ? cursorOf(page[0]) : null
  }
}

/** The deliveries of a page's documents in one query (only `onlyRecipient`'s when given). */
async function recipientsOf (db: Queryable, documentIds: string[], onlyRecipient: string | null): Promise<Map<string, TrackedRecipient[]>> {
  const out = new Map<string, TrackedRecipient[]>()
  if (documentIds.length === 0) return out
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT x.document_id, x.id, x.recipient_code, x.mode, x.state, x.attempts, x.last_error, x.delivered_at, x.updated_at,
            s.status_code, s.description, s.recorded_at
       FROM deliveries x
       LEFT JOIN LATERAL (SELECT e.status_code, e.description, e.recorded_at FROM status_events e
                           WHERE e.document_id = x.document_id AND e.from_code = x.recipient_code
                           ORDER BY e.recorded_at DESC, e.id DESC LIMIT 1) s ON true
      WHERE x.document_id = ANY($1::uuid[]) AND ($2::text IS NULL OR x.recipient_code = $2)
      ORDER BY x.document_id, x.recipient_code`, [documentIds, onlyRecipient])
  for (const r of rows) {
    const list = out.get(r.document_id as string) ?? []
    list.push({
      deliveryId: r.id as string,
      recipient: r.recipient_code as string,
      mode: r.mode as string,
      state: r.state as string,
      attempts: Number(r.attempts),
      lastError: r.last_error as string | null,
      deliveredAt: r.delivered_at == null ? null : iso(r.delivered_at),
      updatedAt: iso(r.updated_at),
      latestStatus: r.status_code == null ? null : { code: r.status_code as string, description: r.description as string | null, at: iso(r.recorded_at) }
    })
    out.set(r.document_id as string, list)
  }
  return out
}

/** Sender and recipients of a document (for the role guard), or undefined when it does not exist. */
export async function documentParties (db: Queryable, documentId: string): Promise<{ sender: string, recipients: string[] } | undefined> {
  const { rows } = await db.query<{ sender_code: string, recipients: string[] | null }>(
    `SELECT d.sender_code, (SELECT array_agg(x.recipient_code) FROM deliveries x WHERE x.document_id = d.id) AS recipients
       FROM documents d WHERE d.id = $1`, [documentId])
  const row = rows[0]
  return row == null ? undefined : { sender: row.sender_code, recipients: row.recipients ?? [] }
}

export interface TimelineEvent {
  at: string
  /** accepted, queued, available, an event of the delivery trail (sending attempts: retry-scheduled, delivered, failed, resent, ...), receipt, recipient-receipt, status. */
  kind: string
  actor: string | null
  detail: string | null
  /** Status messages: the code 01-16. */
  statusCode?: string
  /** Status messages: StaffInfo, who at the recipient acted (migration 024; absent when not sent). */
  staff?: StaffInfo
  /** Receipts: the id to download it by. */
  receiptId?: string
  statusDocumentId?: string
}

export interface RecipientTimeline {
  deliveryId: string
  recipient: string
  mode: string
  state: string
  attempts: number
  lastError: string | null
  events: TimelineEvent[]
}

export interface DocumentTimeline {
  id: string
  sender: string
  edxmlDocumentId: string | null
  number: string | null
  notation: string | null
  subject: string | null
  acceptedAt: string
  acceptanceReceiptId: string | null
  recipients: RecipientTimeline[]
}

/**
 * A document's journey per recipient, oldest first: accepted, queued (push) or available (pull),
 * every line of the delivery trail (attempts with their errors, delivered, downloaded,
 * acknowledged, failed, resent, cancelled), the hub's receipts, the recipient's own signed
 * receipt, and each status message it sent back. `onlyRecipient` limits it to one recipient's
 * delivery (a clerk of a receiving agency sees its own, not the others').
 */
export async function documentTimeline (db: Queryable, documentId: string, onlyRecipient: string | null): Promise<DocumentTimeline | undefined> {
  const { rows: [d] } = await db.query<Record<string, unknown>>(
    `SELECT d.id, d.sender_code, d.edxml_document_id, d.envelope->'code'->>'number' AS number, d.envelope->'code'->>'notation' AS notation,
            d.envelope->>'subject' AS subject, d.accepted_at,
            (SELECT r.id FROM receipts r WHERE r.document_id = d.id AND r.kind = 'acceptance') AS acceptance_receipt_id
       FROM documents d WHERE d.id = $1`, [documentId])
  if (d == null) return undefined
  const only = [documentId, onlyRecipient]
  const deliveries = await db.query<Record<string, unknown>>(
    `SELECT id, recipient_code, mode, state, attempts, last_error, created_at FROM deliveries
      WHERE document_id = $1 AND ($2::text IS NULL OR recipient_code = $2) ORDER BY recipient_code`, only)
  const trail = await db.query<Record<string, unknown>>(
    `SELECT e.delivery_id, e.at, e.event, e.actor, e.detail FROM delivery_events e JOIN deliveries x ON x.id = e.delivery_id
      WHERE x.document_id = $1 AND ($2::text IS NULL OR x.recipient_code = $2) ORDER BY e.id`, only)
  const receipts = await db.query<Record<string, unknown>>(
    `SELECT r.id, r.delivery_id, r.kind, r.created_at FROM receipts r JOIN deliveries x ON x.id = r.delivery_id
      WHERE r.document_id = $1 AND ($2::text IS NULL OR x.recipient_code = $2) ORDER BY r.created_at, r.id`, only)
  const recipientReceipts = await db.query<Record<string, unknown>>(
    `SELECT id, delivery_id, verified, reason_code, signer_subject, received_at FROM recipient_receipts
      WHERE document_id = $1 AND ($2::text IS NULL OR recipient_code = $2) ORDER BY received_at, id`, only)
  const statuses = await db.query<Record<string, unknown>>(
    `SELECT from_code, status_code, description, recorded_at, status_document_id, staff FROM status_events
      WHERE document_id = $1 AND ($2::text IS NULL OR from_code = $2) ORDER BY recorded_at, id`, only)
  const acceptedAt = iso(d.accepted_at)
  const recipients = deliveries.rows.map((x): RecipientTimeline => {
    const events: TimelineEvent[] = [
      { at: acceptedAt, kind: 'accepted', actor: d.sender_code as string, detail: null },
      { at: iso(x.created_at), kind: x.mode === 'pull' ? 'available' : 'queued', actor: 'hub', detail: null }
    ]
    for (const e of trail.rows.filter((e) => e.delivery_id === x.id)) events.push({ at: iso(e.at), kind: e.event as string, actor: e.actor as string, detail: e.detail as string | null })
    for (const r of receipts.rows.filter((r) => r.delivery_id === x.id)) events.push({ at: iso(r.created_at), kind: `${r.kind as string}-receipt`, actor: 'hub', detail: null, receiptId: r.id as string })
    for (const r of recipientReceipts.rows.filter((r) => r.delivery_id === x.id)) {
      events.push({ at: iso(r.received_at), kind: 'recipient-receipt', actor: x.recipient_code as string, detail: r.verified === true ? `verified, signed by ${String(r.signer_subject)}` : `not verified: ${String(r.reason_code)}`, receiptId: r.id as string })
    }
    for (const s of statuses.rows.filter((s) => s.from_code === x.recipient_code)) {
      const staff = typeof s.staff === 'string' ? JSON.parse(s.staff) as StaffInfo : s.staff as StaffInfo | null
      events.push({ at: iso(s.recorded_at), kind: 'status', actor: s.from_code as string, detail: s.description as string | null, statusCode: s.status_code as string, statusDocumentId: s.status_document_id as string, ...(staff != null ? { staff } : {}) })
    }
    // Stable: equal times keep the order above (trail order is the id order).
    events.sort((a, b) => a.at.localeCompare(b.at))
    return { deliveryId: x.id as string, recipient: x.recipient_code as string, mode: x.mode as string, state: x.state as string, attempts: Number(x.attempts), lastError: x.last_error as string | null, events }
  })
  return {
    id: d.id as string,
    sender: d.sender_code as string,
    edxmlDocumentId: d.edxml_document_id as string | null,
    number: d.number as string | null,
    notation: d.notation as string | null,
    subject: d.subject as string | null,
    acceptedAt,
    acceptanceReceiptId: d.acceptance_receipt_id as string | null,
    recipients
  }
}

/**
 * One receipt's signed XML with the document it belongs to: a hub receipt (acceptance, delivery,
 * failure) or a recipient's own receipt, by id. `recipient` names whose delivery it concerns
 * (null: the acceptance receipt, everyone's), for the caller's visibility rule.
 */
export async function receiptById (db: Queryable, receiptId: string): Promise<{ xml: string, kind: string, documentId: string, sender: string, recipient: string | null } | undefined> {
  const { rows } = await db.query<{ xml: string, kind: string, document_id: string, sender_code: string, recipient_code: string | null }>(
    `SELECT r.xml, r.kind, r.document_id, d.sender_code, x.recipient_code
       FROM receipts r JOIN documents d ON d.id = r.document_id LEFT JOIN deliveries x ON x.id = r.delivery_id WHERE r.id = $1
     UNION ALL
     SELECT q.xml, 'recipient', q.document_id, d.sender_code, q.recipient_code
       FROM recipient_receipts q JOIN documents d ON d.id = q.document_id WHERE q.id = $1`, [receiptId])
  const row = rows[0]
  return row == null ? undefined : { xml: row.xml, kind: row.kind, documentId: row.document_id, sender: row.sender_code, recipient: row.recipient_code }
}

/** The document and recipient of a delivery (for the role guard before a resend). */
export async function deliveryParties (db: Queryable, deliveryId: string): Promise<{ documentId: string, sender: string, recipient: string } | undefined> {
  const { rows } = await db.query<{ document_id: string, sender_code: string, recipient_code: string }>(
    'SELECT x.document_id, d.sender_code, x.recipient_code FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE x.id = $1', [deliveryId])
  const row = rows[0]
  return row == null ? undefined : { documentId: row.document_id, sender: row.sender_code, recipient: row.recipient_code }
}

/** `%text%` for ILIKE with the text's own % _ and \ matched literally (backslash is LIKE's default escape). */
export function containsPattern (text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

function iso (value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()
}
