import type { Queryable } from '../db/database.js'

/** Who acted, and from where. */
export interface AuditActor {
  userId: string | null
  /** Username, `cli:<os user>` or `anonymous`. */
  name: string
  via: 'session' | 'token' | 'cli' | 'anonymous'
  /** Client address, or `cli@<host>`. */
  source: string | null
  requestId: string | null
}

export interface AuditAction {
  /** Dotted verb, e.g. `user.create`, `session.login_failed`, `delivery.resend`, `trust.crl_import`. */
  action: string
  /** What it acted on, e.g. `user:alice`, `agency:000.00.00.G22`, `delivery:<id>`. */
  target?: string | null
  before?: unknown
  after?: unknown
  detail?: string | null
}

export interface AuditEntry {
  id: string
  at: string
  actorUserId: string | null
  actor: string
  actorVia: AuditActor['via']
  action: string
  target: string | null
  source: string | null
  requestId: string | null
  before: unknown
  after: unknown
  detail: string | null
}

/**
 * Appends one entry. Called inside the transaction of the change it records where there is one,
 * so a change is never made without its entry (nor an entry kept for a change rolled back).
 */
export async function recordAudit (db: Queryable, actor: AuditActor, action: AuditAction): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO admin_audit (actor_user_id, actor, actor_via, action, target, source, request_id, before, after, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id::text`,
    [actor.userId, actor.name.slice(0, 200), actor.via, action.action, action.target ?? null, actor.source, actor.requestId,
      action.before === undefined ? null : JSON.stringify(action.before), action.after === undefined ? null : JSON.stringify(action.after), action.detail ?? null]
  )
  return (rows[0] as { id: string }).id
}

export interface AuditQuery {
  /** Keyset cursor: entries older than this id (the `next` of the previous page). */
  before?: string
  limit: number
  action?: string
  actorUserId?: string
  target?: string
}

interface AuditRow {
  id: string
  at: Date
  actor_user_id: string | null
  actor: string
  actor_via: AuditActor['via']
  action: string
  target: string | null
  source: string | null
  request_id: string | null
  before: unknown
  after: unknown
  detail: string | null
}

/**
 * Newest first, keyset-paginated on the id: a page is stable while entries are appended (new ones
 * have larger ids and never shift an older page).
 */
export async function listAudit (db: Queryable, query: AuditQuery): Promise<{ entries: AuditEntry[], next: string | null }> {
  const { rows } = await db.query<AuditRow>(
    `SELECT id::text, at, actor_user_id, actor, actor_via, action, target, source, request_id, before, after, detail
       FROM admin_audit
      WHERE ($1::bigint IS NULL OR id < $1::bigint) AND ($2::text IS NULL OR action = $2)
        AND ($3::uuid IS NULL OR actor_user_id = $3::uuid) AND ($4::text IS NULL OR target = $4)
      -- admin_audit.id, not the text output column of the same name (which sorts '10' before '9').
      ORDER BY admin_audit.id DESC LIMIT $5`,
    [query.before ?? null, query.action ?? null, query.actorUserId ?? null, query.target ?? null, query.limit + 1]
  )
  const page = rows.slice(0, query.limit)
  return {
    entries: page.map((r) => ({
      id: r.id,
      at: new Date(r.at).toISOString(),
      actorUserId: r.actor_user_id,
      actor: r.actor,
      actorVia: r.actor_via,
      action: r.action,
      target: r.target,
      source: r.source,
      requestId: r.request_id,
      before: r.before,
      after: r.after,
      detail: r.detail
    })),
    next: rows.length > query.limit ? (page[page.length - 1] as AuditRow).id : null
  }
}
