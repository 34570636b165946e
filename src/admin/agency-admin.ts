import type { Database } from '../db/database.js'
import { HubProblem } from '../errors/problem.js'
import { recordAudit, type AuditActor } from '../store/admin-audit.js'
import { agencyExists } from '../store/agencies.js'
import { findAgencyCredential } from '../store/agency-overview.js'
import { createApiKey, revokeCredential } from '../store/credentials.js'

/**
 * Agency credentials changed by an admin, each with its audit entry in the same transaction.
 * (The registry entries themselves, delivery and signing certificates, come from the registry
 * file: docs/accounts.md says why they are not edited here yet.)
 */
export async function createAgencyApiKey (db: Database, actor: AuditActor, agencyCode: string, label: string): Promise<{ id: string, key: string }> {
  if (!(await agencyExists(db, agencyCode))) throw new HubProblem('NOT_FOUND', `no agency ${agencyCode} in the registry`)
  return await db.transaction(async (tx) => {
    const created = await createApiKey(tx, agencyCode, label)
    await recordAudit(tx, actor, { action: 'agency.api_key_create', target: `agency:${agencyCode}`, after: { credentialId: created.id, label, keyPrefix: created.key.split('_')[1] } })
    return created
  })
}

export async function revokeAgencyCredential (db: Database, actor: AuditActor, id: string): Promise<{ id: string, agencyCode: string }> {
  return await db.transaction(async (tx) => {
    const found = await findAgencyCredential(tx, id)
    if (found == null) throw new HubProblem('NOT_FOUND', `no agency credential ${id}`)
    if (found.revoked || !(await revokeCredential(tx, id))) throw new HubProblem('CONFLICT', `agency credential ${id} is already revoked`)
    await recordAudit(tx, actor, { action: 'agency.credential_revoke', target: `agency:${found.agencyCode}`, before: { credentialId: id, kind: found.kind, label: found.label } })
    return { id, agencyCode: found.agencyCode }
  })
}
