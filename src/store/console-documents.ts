import type { Queryable } from '../db/database.js'

/**
 * The console's document lists (until the tracking API's store lands on main, when the pages move
 * onto it): one row per document with every recipient's delivery state, newest first, keyset
 * pages on (accepted_at, id) so that documents accepted meanwhile never shift a page.
 */
export interface ConsoleDocumentRow {
  id: string
  sender: string
  notation: string | null
  number: string | null
  subject: string | null
  acceptedAt: Date
  deliveries: Array<{ recipient: string, state: string }>
}

export interface DocumentListQuery {
  direction: 'sent' | 'received'
  /** The agency whose documents are listed; null: every agency (auditors, admins). */
  agency: string | null
  /** Part of the number/notation ("12/UBND-VP"), any case. */
  number?: string
  /** Part of the subject, any case. */
  subject?: string
  /** Keyset cursor: older than this row (next page) or newer than it (previous page). */
  after?: DocumentCursor
  before?: DocumentCursor
  limit: number
}

export interface DocumentCursor { acceptedAt: string, id: string }

export interface DocumentPage {
  rows: ConsoleDocumentRow[]
  /** Cursor of the next (older) page, when there is one. */
  next: DocumentCursor | null
  /** Cursor of the previous (newer) page, when there is one. */
  previous: DocumentCursor | null
}

/** `<iso time>_<uuid>`, the cursor's form in a page link. */
export function encodeCursor (c: DocumentCursor): string { return `${c.acceptedAt}_${c.id}` }

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

/** A cursor from a link, or undefined when malformed (the page then starts from the newest). */
export function decodeCursor (text: string | undefined): DocumentCursor | undefined {
  const m = text == null ? null : CURSOR.exec(text)
  return m == null ? undefined : { acceptedAt: m[1] as string, id: m[2] as string }
}

const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

export async function listConsoleDocuments (db: Queryable, q: DocumentListQuery): Promise<DocumentPage> {
  const params: unknown[] = []
  const p = (value: unknown): string => { params.push(value); return `$${params.length}` }
  const where: string[] = ["d.kind = 'document'"]
  if (q.agency != null) {
    where.push(q.direction === 'sent'
      ? `d.sender_code = ${p(q.agency)}`
      : `d.id IN (SELECT r.document_id FROM deliveries r WHERE r.recipient_code = ${p(q.agency)})`)
  } else if (q.direction === 'received') {
    where.push('EXISTS (SELECT 1 FROM deliveries r WHERE r.document_id = d.id)')
  }
  if (q.number != null && q.number !== '') {
    where.push(`concat_ws('/', d.envelope->'code'->>'number', d.envelope->'code'->>'notation') ILIKE ${p(likePattern(q.number))}`)
  }
  if (q.subject != null && q.subject !== '') where.push(`d.envelope->>'subject' ILIKE ${p(likePattern(q.subject))}`)
  const backwards = q.before != null && q.after == null
  const cursor = q.after ?? q.before
  if (cursor != null) {
    where.push(`(d.accepted_at, d.id) ${backwards ? '>' : '<'} (${p(cursor.acceptedAt)}::timestamptz, ${p(cursor.id)}::uuid)`)
  }
  const order = backwards ? 'ASC' : 'DESC'
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT d.id, d.sender_code, d.envelope->'code'->>'notation' AS notation, d.envelope->'code'->>'number' AS number,
            d.envelope->>'subject' AS subject, d.accepted_at,
            (SELECT coalesce(json_agg(json_build_object('recipient', x.recipient_code, 'state', x.state) ORDER BY x.recipient_code), '[]')
             FROM deliveries x WHERE x.document_id = d.id) AS deliveries
     FROM documents d WHERE ${where.join(' AND ')}
     ORDER BY d.accepted_at ${order}, d.id ${order} LIMIT ${p(q.limit + 1)}`, params)
  const more = rows.length > q.limit
  const page = rows.slice(0, q.limit).map((r): ConsoleDocumentRow => ({
    id: r.id as string,
    sender: r.sender_code as string,
    notation: r.notation as string | null,
    number: r.number as string | null,
    subject: r.subject as string | null,
    acceptedAt: r.accepted_at instanceof Date ? r.accepted_at : new Date(String(r.accepted_at)),
    deliveries: (typeof r.deliveries === 'string' ? JSON.parse(r.deliveries) : r.deliveries) as ConsoleDocumentRow['deliveries']
  }))
  if (backwards) page.reverse()
  const cursorOf = (row: ConsoleDocumentRow | undefined): DocumentCursor | null => row == null ? null : { acceptedAt: row.acceptedAt.toISOString(), id: row.id }
  // Forward: a next page exists when more rows were found; a previous one whenever we came from a cursor.
  // Backward: the mirror image.
  return {
    rows: page,
    next: (backwards ? cursor != null : more) ? cursorOf(page[page.length - 1]) : null,
    previous: (backwards ? more : cursor != null) ? cursorOf(page[0]) : null
  }
}

/** Signature-log entries for the auditor's page, newest first, keyset on the id. */
export interface LogPageQuery { reasonCode?: string, verdict?: string, agency?: string, beforeId?: number, limit: number }

export interface LogRow {
  id: number
  loggedAt: Date
  agency: string | null
  edxmlDocumentId: string | null
  hubDocumentId: string | null
  verdict: string
  reasonCode: string | null
  certSubject: string | null
}

function logWhere (q: Omit<LogPageQuery, 'limit'>, params: unknown[]): string {
  const p = (value: unknown): string => { params.push(value); return `$${params.length}` }
  const where: string[] = ['true']
  if (q.reasonCode != null && q.reasonCode !== '') where.push(`reason_code = ${p(q.reasonCode)}`)
  if (q.verdict != null && q.verdict !== '') where.push(`verdict = ${p(q.verdict)}`)
  if (q.agency != null && q.agency !== '') where.push(`coalesce(authenticated_agency, claimed_agency) = ${p(q.agency)}`)
  if (q.beforeId != null) where.push(`id < ${p(q.beforeId)}`)
  return where.join(' AND ')
}

export async function listSignatureLog (db: Queryable, q: LogPageQuery): Promise<{ rows: LogRow[], nextBeforeId: number | null }> {
  const params: unknown[] = []
  const where = logWhere(q, params)
  params.push(q.limit + 1)
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT id, logged_at, coalesce(authenticated_agency, claimed_agency) AS agency, edxml_document_id, hub_document_id, verdict, reason_code, cert_subject
     FROM signature_log WHERE ${where} ORDER BY id DESC LIMIT $${params.length}`, params)
  const page = rows.slice(0, q.limit).map((r): LogRow => ({
    id: Number(r.id),
    loggedAt: r.logged_at instanceof Date ? r.logged_at : new Date(String(r.logged_at)),
    agency: r.agency as string | null,
    edxmlDocumentId: r.edxml_document_id as string | null,
    hubDocumentId: r.hub_document_id as string | null,
    verdict: r.verdict as string,
    reasonCode: r.reason_code as string | null,
    certSubject: r.cert_subject as string | null
  }))
  return { rows: page, nextBeforeId: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null }
}
