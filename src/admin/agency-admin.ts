import { X509Certificate } from 'node:crypto'
import { Value } from '@sinclair/typebox/value'
import type { Database, Queryable } from '../db/database.js'
import { HubProblem } from '../errors/problem.js'
import { readPemBlocks } from '../pki/pem.js'
import { AgencyRegistry, RegistryError, normaliseFingerprint } from '../registry/agency-registry.js'
import { AgencyEntry } from '../registry/registry-format.js'
import { insertSigningCertificate, revokeSigningCertificate, storedAgencies, takeOverAgency, writeAgencyRow, type StoredAgency } from '../registry/registry-db.js'
import { recordAudit, type AuditActor } from '../store/admin-audit.js'
import { agencyExists, agencyExistsIgnoringCase } from '../store/agencies.js'
import { findAgencyCredential } from '../store/agency-overview.js'
import { createApiKey, revokeCredential } from '../store/credentials.js'

/**
 * Agencies changed by an admin (API and CLI), each change with its audit entry in the same
 * transaction. The first change to an agency the registry file seeded makes its row rule over
 * the file (docs/agency-registry.md, "Registry in the database"). Verification threads see a
 * change at their process's next registry poll (src/hub/revocation-sync.ts).
 */

/** What an admin gives for a new agency; signing certificates as PEM (their fingerprints are kept). */
export interface NewAgency {
  code: string
  name: string
  delivery: AgencyEntry['delivery']
  subjectRule?: Record<string, string>
  allowWeakAlgorithms?: boolean
  allowUnsignedEnvelopes?: boolean
  signingCertificates?: Array<{ pem: string, label?: string }>
}

/** The fields an update may change (absent: unchanged; subjectRule null: removed). */
export interface AgencyPatch {
  name?: string
  delivery?: AgencyEntry['delivery']
  subjectRule?: Record<string, string> | null
  allowWeakAlgorithms?: boolean
  allowUnsignedEnvelopes?: boolean
}

/** A signing certificate read from an upload: what is stored and shown of it. */
export interface UploadedCertificate {
  fingerprint: string
  subject: string
  notAfter: Date
}

export async function createAgency (db: Database, actor: AuditActor, input: NewAgency, now = new Date()): Promise<StoredAgency> {
  const entry: AgencyEntry = {
    code: input.code,
    name: input.name,
    certificates: [],
    ...(input.subjectRule != null ? { subjectRule: input.subjectRule } : {}),
    allowWeakAlgorithms: input.allowWeakAlgorithms ?? false,
    ...(input.allowUnsignedEnvelopes === true ? { allowUnsignedEnvelopes: true } : {}),
    delivery: input.delivery
  }
  checkEntry(entry)
  // Before the transaction: a certificate that does not qualify refuses the whole agency.
  const certificates = (input.signingCertificates ?? []).map((c) => ({ ...readSigningCertificate(c.pem, now), label: c.label ?? '' }))
  return await db.transaction(async (tx) => {
    // A look-alike of an existing code (000.00.00.h41 beside 000.00.00.H41) would let documents
    // be addressed to the wrong agency by a typo: refused like an exact duplicate.
    if (await agencyExistsIgnoringCase(tx, entry.code)) throw new HubProblem('CONFLICT', `agency ${entry.code} (or the same code in other letter case) already exists`)
    await writeAgencyRow(tx, entry, 'admin')
    for (const cert of certificates) {
      if (await insertSigningCertificate(tx, entry.code, cert) !== 'added') throw new HubProblem('BAD_REQUEST', `signing certificate ${cert.fingerprint} is given twice`)
    }
    await recordAudit(tx, actor, { action: 'agency.create', target: `agency:${entry.code}`, after: { ...entry, certificates: certificates.map((c) => c.fingerprint) } })
    return await oneAgency(tx, entry.code)
  })
}

export async function updateAgency (db: Database, actor: AuditActor, code: string, patch: AgencyPatch): Promise<StoredAgency> {
  return await db.transaction(async (tx) => {
    const before = await lockedAgency(tx, code)
    const { subjectRule: _old, allowUnsignedEnvelopes: _oldUnsigned, ...kept } = before.entry
    const subjectRule = patch.subjectRule === undefined ? before.entry.subjectRule : patch.subjectRule ?? undefined
    const unsigned = patch.allowUnsignedEnvelopes ?? before.entry.allowUnsignedEnvelopes ?? false
    const entry: AgencyEntry = {
      ...kept,
      ...(patch.name != null ? { name: patch.name } : {}),
      ...(patch.delivery != null ? { delivery: patch.delivery } : {}),
      ...(patch.allowWeakAlgorithms != null ? { allowWeakAlgorithms: patch.allowWeakAlgorithms } : {}),
      ...(subjectRule != null ? { subjectRule } : {}),
      ...(unsigned ? { allowUnsignedEnvelopes: true } : {})
    }
    checkEntry(entry)
    await writeAgencyRow(tx, entry, 'admin')
    await recordAudit(tx, actor, { action: 'agency.update', target: `agency:${code}`, before: withoutCertificates(before.entry), after: withoutCertificates(entry) })
    return await oneAgency(tx, code)
  })
}

export async function addSigningCertificate (db: Database, actor: AuditActor, code: string, pem: string, label: string, now = new Date()): Promise<UploadedCertificate> {
  const cert = readSigningCertificate(pem, now)
  return await db.transaction(async (tx) => {
    await lockedAgency(tx, code)
    await takeOverAgency(tx, code)
    const outcome = await insertSigningCertificate(tx, code, { ...cert, label })
    if (outcome === 'present') throw new HubProblem('CONFLICT', `certificate ${cert.fingerprint} already signs for ${code}`)
    // Revocation is final: a certificate revoked because it leaked must not come back by a re-upload.
    if (outcome === 'revoked') throw new HubProblem('CONFLICT', `certificate ${cert.fingerprint} was revoked for ${code}; a revoked certificate is not registered again`)
    await recordAudit(tx, actor, { action: 'agency.signing_cert_add', target: `agency:${code}`, after: { fingerprintSha256: cert.fingerprint, subject: cert.subject, notAfter: cert.notAfter.toISOString(), label } })
    return cert
  })
}

export async function revokeAgencySigningCertificate (db: Database, actor: AuditActor, code: string, fingerprint: string): Promise<{ agencyCode: string, fingerprint: string }> {
  const fp = normaliseFingerprint(fingerprint)
  return await db.transaction(async (tx) => {
    await lockedAgency(tx, code)
    await takeOverAgency(tx, code)
    if (!(await revokeSigningCertificate(tx, code, fp))) throw new HubProblem('NOT_FOUND', `no live signing certificate ${fp} for ${code}`)
    await recordAudit(tx, actor, { action: 'agency.signing_cert_revoke', target: `agency:${code}`, before: { fingerprintSha256: fp } })
    return { agencyCode: code, fingerprint: fp }
  })
}

/**
 * A signing certificate an admin uploads: exactly one certificate, not a CA (security.md step 4:
 * a leaf never is), currently valid. Its fingerprint is what binds; path validation against the
 * trust store still happens on every document.
 */
export function readSigningCertificate (pem: string, now = new Date()): UploadedCertificate {
  const blocks = readPemBlocks(pem)
  if (blocks.length !== 1 || blocks[0]?.label !== 'CERTIFICATE') throw new HubProblem('BAD_REQUEST', 'expected exactly one PEM CERTIFICATE block')
  let cert: X509Certificate
  try {
    cert = new X509Certificate(blocks[0].der)
  } catch (err) {
    throw new HubProblem('BAD_REQUEST', `not an X.509 certificate: ${(err as Error).message}`)
  }
  if (cert.ca) throw new HubProblem('BAD_REQUEST', 'a CA certificate never signs documents: upload the signer\'s own (leaf) certificate')
  const notAfter = new Date(cert.validTo)
  if (notAfter <= now) throw new HubProblem('BAD_REQUEST', `the certificate expired at ${notAfter.toISOString()}`)
  return { fingerprint: normaliseFingerprint(cert.fingerprint256), subject: cert.subject.replaceAll('\n', ', '), notAfter }
}

/** The entry checked as a registry file's would be (attribute names, push endpoint rules). */
function checkEntry (entry: AgencyEntry): void {
  const first = Value.Errors(AgencyEntry, entry).First()
  if (first != null) throw new HubProblem('BAD_REQUEST', `${first.path || '/'} ${first.message}`)
  try {
    // eslint-disable-next-line no-new -- constructed for its checks only
    new AgencyRegistry([entry], 'request', { requireSigner: false })
  } catch (err) {
    if (err instanceof RegistryError) throw new HubProblem('BAD_REQUEST', err.message.replace(/^request: \/agencies\/0/, ''))
    throw err
  }
}

/** The agency, its row locked for the rest of the transaction (two admins editing one agency queue up). */
async function lockedAgency (tx: Queryable, code: string): Promise<StoredAgency> {
  const { rows } = await tx.query('SELECT 1 FROM agencies WHERE code = $1 FOR UPDATE', [code])
  if (rows.length === 0) throw new HubProblem('NOT_FOUND', `no agency ${code}`)
  return await oneAgency(tx, code)
}

async function oneAgency (db: Queryable, code: string): Promise<StoredAgency> {
  const found = (await storedAgencies(db, code))[0]
  if (found == null) throw new HubProblem('NOT_FOUND', `no agency ${code}`)
  return found
}

function withoutCertificates (entry: AgencyEntry): Omit<AgencyEntry, 'certificates'> {
  const { certificates: _c, ...rest } = entry
  return rest
}

/** API keys and TLS client certificates: unchanged by the registry moving into the database. */
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
