import { createHash } from 'node:crypto'
import type { Database } from '../db/database.js'
import { HubProblem } from '../errors/problem.js'
import { crlDer } from '../pki/crl-fetch.js'
import { CrlRefusedError, verifyCrl } from '../pki/crl-verify.js'
import { decodeCrl, distinguishedName, type LoadedCertificate, type LoadedCrl, type TrustStore } from '../pki/trust-store.js'
import { recordAudit, type AuditActor } from '../store/admin-audit.js'
import { refreshStatus, storeCrl, type StoreOutcome } from '../store/crls.js'

/** What GET /api/admin/trust shows: the CAs, every CRL's freshness, the refresh job's last round. */
export async function trustOverview (db: Database, store: TrustStore, now = new Date()): Promise<Record<string, unknown>> {
  const ca = (c: LoadedCertificate): Record<string, unknown> => ({
    subject: distinguishedName(c.pkijs.subject),
    fingerprintSha256: c.node.fingerprint256,
    notAfter: new Date(c.node.validTo).toISOString(),
    source: c.file
  })
  const refresh = await refreshStatus(db)
  return {
    anchors: store.anchors.map(ca),
    intermediates: store.intermediates.map(ca),
    crls: store.crlFreshness(now),
    refresh: { lastRoundAt: refresh.lastRoundAt?.toISOString() ?? null, failures: refresh.failures }
  }
}

/**
 * Imports a CRL an admin uploads (a CA's CRL fetched by hand, a network without the CA's URL).
 * The same checks as a fetched one: issued and signed by a CA of the trust store, current, and
 * newer than the one held for its issuer (an older one is refused: a rollback would un-revoke).
 * Stored in the database, from where every gateway picks it up at its next poll.
 */
export async function importCrl (db: Database, store: TrustStore, actor: AuditActor, body: Uint8Array, now = new Date()): Promise<{ outcome: StoreOutcome, issuer: string, crlNumber: string | null, thisUpdate: string, nextUpdate: string | null }> {
  let crl: LoadedCrl
  try {
    crl = decodeCrl(crlDer(body), `admin:${actor.name}`)
  } catch (err) {
    throw new HubProblem('BAD_REQUEST', `not a CRL (PEM or DER): ${(err as Error).message}`)
  }
  let signer: LoadedCertificate
  try {
    signer = await verifyCrl(store, crl)
  } catch (err) {
    if (err instanceof CrlRefusedError) throw new HubProblem('BAD_REQUEST', `${err.code}: ${err.message}`)
    throw err
  }
  if (crl.nextUpdate != null && crl.nextUpdate <= now) throw new HubProblem('BAD_REQUEST', `the CRL of ${crl.issuer} went stale at ${crl.nextUpdate.toISOString()}`)
  const summary = { issuer: crl.issuer, crlNumber: crl.crlNumber, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null }
  // The audit row is written in the storing transaction: no imported CRL without its record.
  const result = await storeCrl(db, { url: `admin:${actor.name}`, crl, signer, sha256: createHash('sha256').update(crl.der).digest('hex') }, async (tx) => {
    await recordAudit(tx, actor, { action: 'trust.crl_import', target: `crl:${crl.issuer}`, after: summary })
  })
  if (result.outcome === 'older') {
    throw new HubProblem('CONFLICT', `the hub holds a newer CRL of ${crl.issuer} (number ${String(result.held.crlNumber)}, ${result.held.thisUpdate.toISOString()})`)
  }
  return { outcome: result.outcome, ...summary }
}
