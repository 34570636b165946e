import { createPublicKey, sign, verify, X509Certificate } from 'node:crypto'
import { startPeriodicTask } from '../background/periodic-task.js'
import type { Database, Queryable } from '../db/database.js'
import { readPemBlocks } from '../pki/pem.js'
import type { HubIdentity } from './hub-identity.js'
import { GENESIS_HASH, canonicalJson, walkSignatureLog, type ChainReport } from './signature-log-chain.js'

/**
 * Signed checkpoints of the signature log head (docs/signature-log.md, "Checkpoints").
 *
 * The chain shows an entry changed, removed or inserted anywhere BEFORE the last one, but a log
 * whose last entries were deleted is still a valid (shorter) chain. A checkpoint is the hub's
 * signed statement "at issuedAt the log held `entries` entries and its head was entry #headId
 * with entry_hash headHash"; any later log must still hold that entry with that hash. Checkpoints
 * are stored (table signature_log_checkpoints), issued by the worker periodically and by
 * `lienthong audit checkpoint` on demand, and exported to files kept away from the database, so a
 * truncation is seen even when the stored checkpoints were deleted too.
 *
 * FORMAT (a JSON file, verifiable offline with any RSA tool):
 *   { "checkpoint": { "format": "lienthong-signature-log-checkpoint/1", "headId": 1523 | null,
 *                     "headHash": "<64 hex>", "entries": 1523, "issuedAt": "<ISO-8601 UTC ms>",
 *                     "hubCertificateSha256": "<64 hex>" },
 *     "signatureAlgorithm": "RSA-SHA256",
 *     "signature": "<base64 RSASSA-PKCS1-v1_5 SHA-256 signature over the UTF-8 bytes of canonicalJson(checkpoint)>",
 *     "certificate": "<PEM: the hub signing certificate, then its chain>" }
 * canonicalJson is the signature log's canonical JSON (keys sorted by code point, no whitespace;
 * Python: json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False)).
 */
export const CHECKPOINT_FORMAT = 'lienthong-signature-log-checkpoint/1'

export interface CheckpointStatement {
  format: typeof CHECKPOINT_FORMAT
  /** The head entry's id; null for an empty log. */
  headId: number | null
  /** The head entry's entry_hash (GENESIS_HASH for an empty log). */
  headHash: string
  entries: number
  issuedAt: string
  /** SHA-256 of the DER of the certificate whose key signed. */
  hubCertificateSha256: string
}

export interface SignedCheckpoint {
  checkpoint: CheckpointStatement
  signatureAlgorithm: 'RSA-SHA256'
  signature: string
  certificate: string
}

export interface StoredCheckpoint {
  id: number
  signed: SignedCheckpoint
  /** The exact JSON text stored (what export writes). */
  text: string
}

/** The chain is broken or truncated: the hub refuses to sign a head it cannot vouch for. */
export class CheckpointRefused extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CheckpointRefused'
  }
}

export function signCheckpoint (statement: CheckpointStatement, hub: HubIdentity): SignedCheckpoint {
  const signature = sign('sha256', Buffer.from(canonicalJson(statement), 'utf8'), hub.privateKey).toString('base64')
  return { checkpoint: statement, signatureAlgorithm: 'RSA-SHA256', signature, certificate: hub.certificatePem }
}

/** The file/stored text of a signed checkpoint (pretty JSON, one trailing newline). */
export function checkpointText (signed: SignedCheckpoint): string {
  return JSON.stringify(signed, null, 2) + '\n'
}

export type CheckpointVerdict = { ok: true, checkpoint: CheckpointStatement } | { ok: false, reason: string }

const HEX64 = /^[0-9a-f]{64}$/

/**
 * Checks a signed checkpoint (parsed JSON, untrusted) offline: its shape, that the embedded
 * certificate is one of `trustedFingerprints` (the hub's; lower-case hex) and is the one the
 * statement names, and the RSA-SHA256 signature over the canonical statement.
 */
export function verifyCheckpoint (value: unknown, trustedFingerprints: readonly string[]): CheckpointVerdict {
  const shape = checkShape(value)
  if (typeof shape === 'string') return { ok: false, reason: shape }
  const { checkpoint, signature, certificate } = shape
  const block = readPemBlocks(certificate).find((b) => b.label === 'CERTIFICATE')
  if (block == null) return { ok: false, reason: 'no certificate in the checkpoint' }
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(block.der)
  } catch (err) {
    return { ok: false, reason: `the certificate cannot be read: ${(err as Error).message}` }
  }
  const fingerprint = leaf.fingerprint256.replaceAll(':', '').toLowerCase()
  if (fingerprint !== checkpoint.hubCertificateSha256) return { ok: false, reason: `the statement names certificate ${checkpoint.hubCertificateSha256}, the file carries ${fingerprint}` }
  if (!trustedFingerprints.includes(fingerprint)) return { ok: false, reason: `signed by ${leaf.subject.split('\n').join(', ')} (SHA-256 ${fingerprint}), which is not the hub certificate given` }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return { ok: false, reason: 'the signature is not base64' }
  const good = verify('sha256', Buffer.from(canonicalJson(checkpoint), 'utf8'), createPublicKey(leaf.publicKey.export({ type: 'spki', format: 'pem' })), Buffer.from(signature, 'base64'))
  return good ? { ok: true, checkpoint } : { ok: false, reason: 'the signature does not verify: the checkpoint was altered or not signed by this key' }
}

function checkShape (value: unknown): SignedCheckpoint | string {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) return 'not a signed checkpoint (a JSON object)'
  const v = value as Record<string, unknown>
  const extra = Object.keys(v).filter((k) => !['checkpoint', 'signatureAlgorithm', 'signature', 'certificate'].includes(k))
  if (extra.length > 0) return `unexpected member ${extra.join(', ')}`
  if (v.signatureAlgorithm !== 'RSA-SHA256') return `signatureAlgorithm ${JSON.stringify(v.signatureAlgorithm)} is not RSA-SHA256`
  if (typeof v.signature !== 'string' || typeof v.certificate !== 'string') return 'signature and certificate must be strings'
  const c = v.checkpoint as Record<string, unknown> | null
  if (c == null || typeof c !== 'object' || Array.isArray(c)) return 'no checkpoint statement'
  const keys = Object.keys(c).sort()
  if (keys.join(',') !== 'entries,format,headHash,headId,hubCertificateSha256,issuedAt') return `the statement has members ${keys.join(', ')}`
  if (c.format !== CHECKPOINT_FORMAT) return `format ${JSON.stringify(c.format)} is not ${CHECKPOINT_FORMAT}`
  if (!(c.headId === null || (Number.isSafeInteger(c.headId) && (c.headId as number) > 0))) return 'headId must be a positive integer or null'
  if (typeof c.headHash !== 'string' || !HEX64.test(c.headHash)) return 'headHash must be 64 lower-case hex digits'
  if (!Number.isSafeInteger(c.entries) || (c.entries as number) < 0) return 'entries must be a non-negative integer'
  if (typeof c.issuedAt !== 'string' || Number.isNaN(Date.parse(c.issuedAt)) || new Date(c.issuedAt).toISOString() !== c.issuedAt) return 'issuedAt must be an ISO-8601 UTC time'
  if (typeof c.hubCertificateSha256 !== 'string' || !HEX64.test(c.hubCertificateSha256)) return 'hubCertificateSha256 must be 64 lower-case hex digits'
  if ((c.headId === null) !== (c.headHash === GENESIS_HASH && c.entries === 0)) return 'an empty log has headId null, the genesis hash and 0 entries, and only it'
  return value as SignedCheckpoint
}

/** The newest stored checkpoint (or the one with `id`), or undefined. */
export async function readCheckpoint (db: Queryable, id?: number): Promise<StoredCheckpoint | undefined> {
  const { rows: [row] } = await db.query<{ id: number | string, signed: string }>(id == null
    ? 'SELECT id, signed FROM signature_log_checkpoints ORDER BY id DESC LIMIT 1'
    : 'SELECT id, signed FROM signature_log_checkpoints WHERE id = $1', id == null ? [] : [id])
  if (row == null) return undefined
  return { id: Number(row.id), signed: JSON.parse(row.signed) as SignedCheckpoint, text: row.signed }
}

/**
 * Key of the advisory lock that keeps two workers from issuing at the same moment (727002: appends),
 * taken as (727003, hash of the schema): advisory locks are per database, and hubs (or test runs)
 * whose logs live in different schemas of one database have nothing to keep apart. With one key
 * for the whole database, a worker checkpointing its own log made another hub's checkpoint (and a
 * test's, beside a suite of workers) come back "another checkpoint is being issued".
 */
const CHECKPOINT_LOCK = 727003

export interface IssueOptions {
  /** Skip when the head is the one of the newest checkpoint (the periodic worker run). */
  onlyIfChanged?: boolean
  now?: () => Date
  batchSize?: number
}

export type IssueResult = { issued: true, stored: StoredCheckpoint } | { issued: false, reason: string }

/**
 * Signs and stores a checkpoint of the current head. Before signing, the entries since the newest
 * checkpoint are verified (links and hashes), and that checkpoint's head must still be in the log
 * with its hash (the first checkpoint verifies the whole log): the hub never signs a truncated or
 * broken chain, it throws CheckpointRefused instead. Appends are not blocked: committed entries
 * never change and ids are allocated under the append lock, so the head read is a real state.
 */
export async function issueCheckpoint (db: Database, hub: HubIdentity, options: IssueOptions = {}): Promise<IssueResult> {
  return await db.transaction(async (tx) => {
    const { rows: [locked] } = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${CHECKPOINT_LOCK}, hashtext(current_schema())) AS ok`)
    if (locked?.ok !== true) return { issued: false, reason: 'another checkpoint is being issued' }
    const previous = await readCheckpoint(tx)
    const from = previous?.signed.checkpoint
    if (from?.headId != null) {
      const { rows: [at] } = await tx.query<{ entry_hash: string }>('SELECT entry_hash FROM signature_log WHERE id = $1', [from.headId])
      if (at == null) throw new CheckpointRefused(`entry #${from.headId}, the head of checkpoint #${previous?.id ?? '?'} (${from.issuedAt}), is no longer in the log: entries were removed`)
      if (at.entry_hash !== from.headHash) throw new CheckpointRefused(`entry #${from.headId} no longer has the hash checkpoint #${previous?.id ?? '?'} signed`)
    }
    const walked = await walkFrom(tx, from?.headId ?? 0, from?.headHash ?? GENESIS_HASH, options.batchSize)
    if (options.onlyIfChanged === true && from != null && walked.entries === 0) return { issued: false, reason: 'the head did not change' }
    const statement: CheckpointStatement = {
      format: CHECKPOINT_FORMAT,
      headId: walked.headId ?? from?.headId ?? null,
      headHash: walked.headHash,
      entries: (from?.entries ?? 0) + walked.entries,
      issuedAt: (options.now?.() ?? new Date()).toISOString(),
      hubCertificateSha256: hub.fingerprintSha256
    }
    const text = checkpointText(signCheckpoint(statement, hub))
    const { rows: [row] } = await tx.query<{ id: number | string }>(
      `INSERT INTO signature_log_checkpoints (issued_at, head_id, head_hash, entries, hub_fingerprint, signed)
       VALUES ($1::timestamptz, $2, $3, $4, $5, $6) RETURNING id`,
      [statement.issuedAt, statement.headId, statement.headHash, statement.entries, statement.hubCertificateSha256, text])
    return { issued: true, stored: { id: Number(row?.id), signed: JSON.parse(text) as SignedCheckpoint, text } }
  })
}

/** Verifies the entries after (afterId, afterHash) (walkSignatureLog); throws CheckpointRefused at the first break. */
async function walkFrom (db: Queryable, afterId: number, afterHash: string, batchSize: number | undefined): Promise<{ entries: number, headId: number | null, headHash: string }> {
  const walk = await walkSignatureLog(db, { afterId, anchor: afterHash, ...(batchSize != null ? { batchSize } : {}) })
  if (walk.broken != null) throw new CheckpointRefused(`the signature log is broken at entry #${walk.broken.id} (${walk.broken.reason}): run lienthong audit verify`)
  return { entries: walk.entries, headId: walk.lastId, headHash: walk.headHash }
}

export type CheckpointComparison =
  | { ok: true }
  /** The log ends before the checkpoint's head: entries after `lastId` (null: all of them) are missing. */
  | { ok: false, reason: 'truncated', lastId: number | null }
  /** The checkpoint's head id is in the log with another hash, or is missing while later ids exist. */
  | { ok: false, reason: 'diverged', detail: string }

/**
 * Does the log (whose chain `report` verified intact) still hold the checkpoint's head? Only
 * meaningful on an intact chain: then the head entry being there with its hash proves every entry
 * up to it is the one the hub signed.
 */
export async function compareWithCheckpoint (db: Queryable, report: ChainReport & { ok: true }, checkpoint: CheckpointStatement): Promise<CheckpointComparison> {
  if (checkpoint.headId == null) return { ok: true }
  const { rows: [row] } = await db.query<{ entry_hash: string }>('SELECT entry_hash FROM signature_log WHERE id = $1', [checkpoint.headId])
  if (row != null) {
    return row.entry_hash === checkpoint.headHash
      ? { ok: true }
      : { ok: false, reason: 'diverged', detail: `entry #${checkpoint.headId} has entry_hash ${row.entry_hash}, the checkpoint signed ${checkpoint.headHash}: the log was rewritten` }
  }
  if (report.headId == null || report.headId < checkpoint.headId) return { ok: false, reason: 'truncated', lastId: report.headId }
  return { ok: false, reason: 'diverged', detail: `entry #${checkpoint.headId} is missing although later entries exist: the log was rewritten` }
}

/**
 * The worker's periodic checkpoints: one soon after start, then every `intervalMs`, each only
 * when the head moved, in one process at a time across the cluster (a lease:
 * src/background/periodic-task.ts). A refusal (broken or truncated chain) is reported through
 * onError every round until an operator looks.
 */
export function startCheckpoints (db: Database, hub: HubIdentity, options: { intervalMs: number, onIssued?: (stored: StoredCheckpoint) => void, onError?: (err: unknown) => void }): { close: () => Promise<void> } {
  const task = startPeriodicTask({
    name: 'signature-log-checkpoints',
    intervalMs: options.intervalMs,
    firstDelayMs: Math.min(1000, options.intervalMs),
    lease: { db },
    run: async () => {
      const result = await issueCheckpoint(db, hub, { onlyIfChanged: true })
      if (result.issued) options.onIssued?.(result.stored)
    },
    onError: (err) => options.onError?.(err)
  })
  return { close: task.close }
}
