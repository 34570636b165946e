import { createHash } from 'node:crypto'
import type { Database } from '../db/database.js'
import { HubProblem } from '../errors/problem.js'
import { crlDer } from '../pki/crl-fetch.js'
import { CrlRefusedError, verifyCrl } from '../pki/crl-verify.js'
import { readPemBlocks } from '../pki/pem.js'
import { insertCa } from '../pki/stored-cas.js'
import { decodeCaCertificate, decodeCrl, distinguishedName, isSelfSigned, TrustStoreError, type LoadedCertificate, type LoadedCrl, type TrustStore } from '../pki/trust-store.js'
import { recordAudit, type AuditActor } from '../store/admin-audit.js'
import { refreshStatus, storeCrl, type StoreOutcome } from '../store/crls.js'

/** What GET /api/admin/trust shows: the CAs, every CRL's freshness, the refresh job's last round. */
export async function trustOverview (db: Database, store: TrustStore, now = new Date()): Promise<Record<string, unknown>> {
  const ca = (c: LoadedCertificate): Record<string, unknown> => ({
    subject: distinguishedName(c.pkijs.subject),
    fingerprintSha256: c.node.fingerprint256,
    notAfter: new Date(c.node.validTo).toISOString(),
    expired: new Date(c.node.validTo) <= now,
    // A file of the trust directory, or `database:<fingerprint>` (added by an admin).
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

export interface AddedCa {
  fingerprintSha256: string
  kind: 'anchor' | 'intermediate'
  subject: string
  notAfter: string
  /** For an intermediate: the CA of the trust store that issued it. */
  issuer: string | null
}

/**
 * Adds a trust anchor or an intermediate CA an admin uploads (PEM, one certificate), held in the
 * database on top of the trust directory. Checked first, because everything it issues becomes
 * trusted: a CA certificate (basicConstraints cA), valid now (not before its start, not expired),
 * and, unless self-signed (an anchor), issued and signed by a CA the hub already trusts (an
 * intermediate hanging from nothing would never validate a path, and hides a mistake).
 */
export async function addTrustCa (db: Database, store: TrustStore, actor: AuditActor, pem: string, now = new Date()): Promise<AddedCa> {
  const blocks = readPemBlocks(pem)
  if (blocks.length !== 1 || blocks[0]?.label !== 'CERTIFICATE') throw new HubProblem('BAD_REQUEST', 'expected exactly one PEM CERTIFICATE block')
  let cert: LoadedCertificate
  try {
    cert = decodeCaCertificate(blocks[0].der, `admin:${actor.name}`)
  } catch (err) {
    if (err instanceof TrustStoreError) throw new HubProblem('BAD_REQUEST', err.message.replace(/^admin:[^:]*: /, ''))
    throw err
  }
  const subject = distinguishedName(cert.pkijs.subject)
  const notBefore = new Date(cert.node.validFrom)
  const notAfter = new Date(cert.node.validTo)
  if (notAfter <= now) throw new HubProblem('BAD_REQUEST', `${subject} expired at ${notAfter.toISOString()}`)
  if (notBefore > now) throw new HubProblem('BAD_REQUEST', `${subject} is not valid before ${notBefore.toISOString()}`)
  const fingerprint = cert.node.fingerprint256.replaceAll(':', '').toLowerCase()
  const held = [...store.anchors, ...store.intermediates]
  if (held.some((c) => c.node.fingerprint256 === cert.node.fingerprint256)) throw new HubProblem('CONFLICT', `${subject} is already in the trust store`)
  const anchor = isSelfSigned(cert)
  const issuer = anchor ? undefined : held.find((c) => cert.node.checkIssued(c.node) && cert.node.verify(c.node.publicKey))
  if (!anchor && issuer == null) throw new HubProblem('BAD_REQUEST', `${subject} is not self-signed and no CA of the trust store issued it: add its issuer first`)
  const added: AddedCa = { fingerprintSha256: fingerprint, kind: anchor ? 'anchor' : 'intermediate', subject, notAfter: notAfter.toISOString(), issuer: issuer != null ? distinguishedName(issuer.pkijs.subject) : null }
  await db.transaction(async (tx) => {
    if (!(await insertCa(tx, { fingerprint, kind: added.kind, der: blocks[0]?.der as Uint8Array, subject, notAfter: added.notAfter, addedBy: actor.name }))) {
      throw new HubProblem('CONFLICT', `${subject} is already in the trust store`)
    }
    await recordAudit(tx, actor, { action: added.kind === 'anchor' ? 'trust.anchor_add' : 'trust.intermediate_add', target: `ca:${fingerprint}`, after: added })
  })
  return added
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
