/**
 * Opaque keyset cursors for newest-first lists ordered by (time, id): the last row of a page says
 * where the next page starts. Keyset, not OFFSET: rows inserted meanwhile (newer, so before the
 * cursor) never shift a later page, and a page costs the same deep in a million rows.
 *
 * The cursor is base64url of `<kind>|<ISO time with microseconds>|<id>`. It is validated, not
 * signed: it only says where to resume within what the caller may see anyway (the filters and the
 * agency scoping are applied again on every page), so a forged cursor reveals nothing.
 */
export interface KeysetPosition {
  /** ISO-8601 UTC with microseconds (PostgreSQL keeps them; a Date would lose three digits). */
  time: string
  id: string
}

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
const ID = /^(?:\d{1,19}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

export function encodeCursor (kind: string, position: KeysetPosition): string {
  return Buffer.from(`${kind}|${position.time}|${position.id}`, 'utf8').toString('base64url')
}

/** The position, or undefined when the text is not a cursor of this kind issued by the hub. */
export function decodeCursor (kind: string, cursor: string): KeysetPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|')
  if (parts.length !== 3 || parts[0] !== kind) return undefined
  const [, time, id] = parts as [string, string, string]
  if (!TIME.test(time) || !ID.test(id)) return undefined
  // A real instant written the way it reads (no month 13, no 31 February).
  const parsed = new Date(time.slice(0, 23) + 'Z')
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 23) !== time.slice(0, 23)) return undefined
  return { time, id }
}

/** SQL for a timestamptz as the cursor's text (UTC, microseconds). */
export function cursorTimeSql (column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
}
