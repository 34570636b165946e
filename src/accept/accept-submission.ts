import { randomUUID } from 'node:crypto'
import type { Database } from '../db/database.js'
import { entryFromVerdict, type PreparedSignatureLogEntry, type SignatureLogEntryInput } from '../evidence/signature-log.js'
import { sequencerFor } from '../evidence/signature-log-sequencer.js'
import { issueReceipt, type ReceiptFields } from '../evidence/receipts.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'
import { clearEnqueued } from '../store/delivery-outbox.js'
import { acceptedDocumentGroupItem, storeAcceptedDocument, type AcceptedDocumentRows } from './store-accepted-document.js'
import { hasDeliveryTo } from '../store/deliveries.js'
import { findAgencies, localCaseVariants, type AgencyRow } from '../store/agencies.js'
import type { AuthenticatedAgency } from '../store/credentials.js'
import { findAnsweredDocument, findDuplicate, findDuplicateAndAgencies, type NewDelivery } from '../store/documents.js'
import { problemStatus, type ProblemCode } from '../errors/problem.js'
import type { Accepted, Verdict } from '../domain/verdict.js'
import { targetId, type ResolvedRoute } from '../routing/route.js'
import type { RouteTable } from '../routing/route-table.js'
import type { RouteTableSource } from '../routing/stored-routes.js'
import { documentHops } from '../store/peer-forwarding.js'
import { upstreamPathProblem } from './upstream-path.js'

export interface AcceptDependencies {
  db: Database
  /** `expectedSender`: the authenticated agency, checked against From before signature work. */
  verify: (bytes: Buffer, options?: { expectedSender?: string, unsignedAllowed?: boolean }) => Promise<Verdict>
  queue: DeliveryQueue | undefined
  hub: HubIdentity
  onEnqueueError?: (err: unknown, deliveryIds: string[]) => void
  /**
   * Peers, upstreams and rules (src/routing): recipients that are not agencies of this hub are
   * routed by them. Without it, or with no rule at all, only local agencies are recipients.
   */
  routes?: RouteTableSource
  /** Signs a receipt off the main thread (receipt-signing-pool.ts); default: issueReceipt on this thread. */
  signReceipt?: (fields: ReceiptFields) => Promise<string>
}

export interface Submission {
  bytes: Buffer
  auth: AuthenticatedAgency
  requestId?: string
  /** Through the VDXP API: an unsigned envelope is accepted when the sender's registry entry allows it. */
  unsignedAllowed?: boolean
  /**
   * Fetched from an upstream axis (src/upstream/): `auth` is the upstream (`upstream:<id>`), which
   * vouches for no sender. The sender is whoever From names, proven only by the signature
   * (verified against the registry as always); never unsigned.
   */
  source?: { upstreamId: string }
}

export interface RecipientOutcome {
  code: string
  deliveryId?: string
  mode?: 'push' | 'pull'
  /** Where the recipient's route leads (local agency, peer hub, upstream axis), and by which rule. */
  route?: { kind: 'local' | 'peer' | 'upstream', target?: string, source: string, rule: string }
  /**
   * RECIPIENT_UNKNOWN: not an agency of this hub, which has no routes; RECIPIENT_UNROUTABLE: no
   * route leads to it; RECIPIENT_CASE_MISMATCH: an agency of this hub's code in other letter case.
   */
  error?: 'RECIPIENT_UNKNOWN' | 'RECIPIENT_UNROUTABLE' | 'RECIPIENT_CASE_MISMATCH'
}

export type AcceptOutcome =
  | { outcome: 'accepted', documentId: string, kind: 'document' | 'status', receipt: string, signatureLogId: number, recipients: RecipientOutcome[], enqueued: boolean }
  | { outcome: 'duplicate', documentId: string, receipt: string, signatureLogId: number, originalSignatureLogId: number }
  | { outcome: 'rejected', code: ProblemCode, status: number, detail: string, signatureLogId: number, recipients?: RecipientOutcome[] }

const UNIQUE_VIOLATION = '23505'

/**
 * The accept path (architecture.md steps 3-6) without HTTP: verify, bind the authenticated
 * agency, detect duplicates, then store document + deliveries + signature-log entry + signed
 * acceptance receipt in ONE statement (lienthong_accept_document, migration 014, through the
 * signature-log sequencer, which may group it with other ready documents: migration 027), and only after commit enqueue the deliveries. Every attempt, accepted
 * or not, leaves exactly one signature-log entry.
 */
export async function acceptSubmission (deps: AcceptDependencies, submission: Submission): Promise<AcceptOutcome> {
  const { db } = deps
  const fromUpstream = submission.source != null
  const verdict = await deps.verify(submission.bytes, fromUpstream
    ? {}
    : { expectedSender: submission.auth.agencyCode, ...(submission.unsignedAllowed === true ? { unsignedAllowed: true } : {}) })
  const context = { requestId: submission.requestId, authenticatedAgency: submission.auth.agencyCode, sizeBytes: submission.bytes.length }
  const base = entryFromVerdict(verdict, context)

  const reject = async (code: ProblemCode, detail: string, recipients?: RecipientOutcome[]): Promise<AcceptOutcome> => {
    const entry: SignatureLogEntryInput = { ...base, verdict: 'rejected', reasonCode: code, detail }
    const logged = await sequencerFor(db).appendEntry(entry)
    return { outcome: 'rejected', code, status: problemStatus(code), detail, signatureLogId: logged.id, ...(recipients != null ? { recipients } : {}) }
  }

  if (verdict.verdict === 'rejected') return await reject(verdict.code, verdict.detail)

  // The caller's credential, From/OrganId and the signer's agency must be one and the same.
  if (!fromUpstream && submission.auth.agencyCode !== verdict.agency) {
    return await reject('SENDER_MISMATCH', `authenticated as ${submission.auth.agencyCode}, but the document is from ${verdict.agency}`)
  }

  // A document's recipients are looked up in the same round trip as the duplicate check.
  const codes = verdict.envelope.kind === 'document' ? recipientCodes(verdict) : []
  const { duplicate, agencies } = await findDuplicateAndAgencies(db, verdict.digestSha256, verdict.agency, verdict.envelope.documentId, verdict.envelope.kind, codes)
  if (duplicate != null) return await logDuplicate(db, base, duplicate)

  // An upstream is bound to the document's path like a peer on /peer (upstream-path.ts): after
  // the duplicate rule, so an axis handing back a copy of what this hub sent is only a duplicate.
  if (submission.source != null) {
    const off = await upstreamPathProblem(db, verdict, submission.source.upstreamId)
    if (off != null) return await reject(off.problem, off.detail)
  }

  // What an upstream hands us goes to our own agencies only, never routed on: its other recipients
  // are the upstream's business, and routing them (back upstream, to a peer) could loop.
  const plan = await planDeliveries(db, verdict, fromUpstream ? undefined : await deps.routes?.table(), agencies)
  if ('problem' in plan) return await reject(plan.problem, plan.detail, plan.recipients)

  const documentId = randomUUID()
  const acceptedAt = new Date()
  // Recall/update/replace (BussinessDocType 1-3) name the sender's earlier document they change.
  const changes = ['1', '2', '3'].includes(verdict.envelope.businessDocType ?? '') && verdict.envelope.businessDocumentId != null
    ? await findAnsweredDocument(db, verdict.agency, verdict.envelope.businessDocumentId)
    : undefined
  const sign = deps.signReceipt ?? (async (fields: ReceiptFields) => issueReceipt(fields, deps.hub))
  const rowsFor = (entry: PreparedSignatureLogEntry, receipt: string): AcceptedDocumentRows => ({
    entry,
    document: { id: documentId, verdict, raw: submission.bytes, acceptedAt, responseForDocumentId: plan.answers, changesDocumentId: changes?.id },
    deliveries: plan.deliveries,
    pushEnqueued: deps.queue != null,
    receipt: { id: randomUUID(), xml: receipt },
    ...(plan.answers != null ? { statusEvent: { id: randomUUID(), description: verdict.envelope.description } } : {})
  })
  let result: { receipt: string, signatureLogId: number }
  try {
    // One statement (migration 014) stores document, deliveries, receipt, status event and the
    // log entry; the receipt cites that entry, so it is signed (off the main thread) once the
    // sequencer has given the entry its id and hash, and before anything is written.
    result = await sequencerFor(db).append({ ...base, hubDocumentId: documentId }, {
      prepare: async (entry) => await sign({
        kind: 'acceptance',
        issuedAt: acceptedAt,
        hubDocumentId: documentId,
        edxmlDocumentId: verdict.envelope.documentId,
        digestSha256: verdict.digestSha256,
        sender: verdict.agency,
        recipients: plan.deliveries.map((d) => d.recipientCode),
        signatureLogEntry: entry.id,
        signatureLogEntryHash: entry.entryHash
      }),
      write: async (entry, receipt, run) => {
        await storeAcceptedDocument(run, rowsFor(entry, receipt))
        return { receipt, signatureLogId: entry.id }
      },
      // Group commit (signature-log-sequencer.ts): the same rows as one item of a multi-document statement.
      group: (entry, receipt) => {
        const item = acceptedDocumentGroupItem(rowsFor(entry, receipt))
        return item != null ? { ...item, result: { receipt, signatureLogId: entry.id } } : undefined
      }
    })
  } catch (err) {
    // Two identical submissions raced past findDuplicate: the loser answers as a duplicate.
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
      const original = await findDuplicate(db, verdict.digestSha256, verdict.agency, verdict.envelope.documentId, verdict.envelope.kind)
      if (original != null) return await logDuplicate(db, base, original)
    }
    throw err
  }

  // After commit: the rows are the truth; Redis only gets ids. The push rows were stored flagged
  // `enqueued` (no UPDATE after the insert on the usual path); if the add fails the flag is
  // cleared so the outbox fast path retries at once, and if even that fails (or this process
  // dies right here) the reconciler's sweep re-adds them after its grace period.
  const pushes = plan.deliveries.filter((d) => d.mode === 'push')
  const ids = pushes.map((d) => d.id)
  let enqueued = ids.length === 0
  if (deps.queue != null && ids.length > 0) {
    try {
      await deps.queue.enqueue(pushes.map((d) => ({ id: d.id, recipient: d.recipientCode })))
      enqueued = true
    } catch (err) {
      await clearEnqueued(db, ids).catch(() => {})
      deps.onEnqueueError?.(err, ids)
    }
  }
  return {
    outcome: 'accepted',
    documentId,
    kind: verdict.envelope.kind,
    receipt: result.receipt,
    signatureLogId: result.signatureLogId,
    recipients: plan.recipients,
    enqueued
  }
}

async function logDuplicate (db: Database, base: SignatureLogEntryInput, original: { id: string, acceptanceReceipt: string, signatureLogId: number }): Promise<AcceptOutcome> {
  const logged = await sequencerFor(db).appendEntry({
    ...base, verdict: 'duplicate', hubDocumentId: original.id, detail: `duplicate of ${original.id}`
  })
  return { outcome: 'duplicate', documentId: original.id, receipt: original.acceptanceReceipt, signatureLogId: logged.id, originalSignatureLogId: original.signatureLogId }
}

type DeliveryPlan =
  | { deliveries: NewDelivery[], recipients: RecipientOutcome[], answers: string | undefined }
  | { problem: ProblemCode, detail: string, recipients?: RecipientOutcome[] }

/**
 * Documents go to every To/OrganId that routes somewhere (one delivery each, duplicates
 * collapsed): a local agency first, else the route table (peer hub or upstream axis). A
 * recipient that leads nowhere is reported, never silently dropped, and a document with no
 * routable recipient is refused. On a hub with no routes the answers are as before any routing
 * existed: RECIPIENT_UNKNOWN. A status message goes back to the sender of the document it
 * answers (on this hub, or along the route to it), and only a recipient of that document may
 * send one.
 */
async function planDeliveries (db: Database, verdict: Accepted, table: RouteTable | undefined, knownRecipients: Map<string, AgencyRow>): Promise<DeliveryPlan> {
  const envelope = verdict.envelope
  const routing = table?.hasRoutes === true ? table : undefined
  if (envelope.kind === 'status') {
    const answered = envelope.responseFor.find((r) => r.organId != null && r.documentId != null)
    if (answered?.organId == null || answered.documentId == null) {
      return { problem: 'DOCUMENT_UNKNOWN', detail: 'the status message names no ResponseFor OrganId and DocumentId' }
    }
    const original = await findAnsweredDocument(db, answered.organId, answered.documentId)
    if (original == null) return { problem: 'DOCUMENT_UNKNOWN', detail: `no document ${answered.documentId} from ${answered.organId} is known to the hub` }
    if (!(await hasDeliveryTo(db, original.id, verdict.agency))) return { problem: 'FORBIDDEN', detail: `${verdict.agency} is not a recipient of document ${answered.documentId}` }
    // A document a peer hub forwarded here: the status goes back along the path it came.
    const fromHub = (await documentHops(db, original.id))?.fromHub
    if (fromHub != null) {
      const back = returnDelivery(answered.organId, fromHub)
      return { deliveries: [back], recipients: [outcomeOf(back)], answers: original.id }
    }
    const sender = (await findAgencies(db, [answered.organId])).get(answered.organId)
    const delivery = sender != null
      ? localDelivery(sender.code, sender.delivery_mode)
      : remoteDelivery(answered.organId, routing?.resolveRemote(answered.organId))
    if (delivery == null) return { problem: 'DOCUMENT_UNKNOWN', detail: `agency ${answered.organId} is not known and no route leads to it` }
    return { deliveries: [delivery], recipients: [outcomeOf(delivery)], answers: original.id }
  }
  const codes = recipientCodes(verdict)
  // findDuplicateAndAgencies looked them up already.
  const known = knownRecipients
  // Before any route: 000.00.00.h41 on a hub serving 000.00.00.H41 would otherwise leave on a
  // default or prefix route (codes match exactly) instead of being refused as the typo it is.
  const variants = await localCaseVariants(db, codes.filter((c) => !known.has(c)))
  const deliveries: NewDelivery[] = []
  const recipients: RecipientOutcome[] = []
  const unroutable = routing != null ? 'RECIPIENT_UNROUTABLE' : 'RECIPIENT_UNKNOWN'
  for (const code of codes) {
    if (variants.has(code)) {
      recipients.push({ code, error: 'RECIPIENT_CASE_MISMATCH' })
      continue
    }
    const agency = known.get(code)
    const delivery = agency != null ? localDelivery(code, agency.delivery_mode) : remoteDelivery(code, routing?.resolveRemote(code))
    if (delivery == null) {
      recipients.push({ code, error: unroutable })
      continue
    }
    deliveries.push(delivery)
    recipients.push(outcomeOf(delivery))
  }
  if (deliveries.length === 0 && variants.size === codes.length) {
    return { problem: 'RECIPIENT_CASE_MISMATCH', detail: `${[...variants].map(([code, local]) => `${code} differs from this hub's agency ${local} only in letter case`).join('; ')}: agency codes match exactly`, recipients }
  }
  if (deliveries.length === 0) {
    const detail = routing != null
      ? `no route leads to any of the recipients (${codes.join(', ')}): none is an agency of this hub, and no peer, upstream or default route serves them`
      : `none of the recipients (${codes.join(', ')}) is known to the hub`
    return { problem: unroutable, detail, recipients }
  }
  return { deliveries, recipients, answers: undefined }
}

/** A document's To/OrganId codes, empty ones dropped, each once. */
function recipientCodes (verdict: Accepted): string[] {
  return [...new Set(verdict.envelope.to.map((t) => t.organId).filter((c) => c !== ''))]
}

export function localDelivery (code: string, mode: 'push' | 'pull'): NewDelivery {
  return { id: randomUUID(), recipientCode: code, mode, route: { kind: 'local', target: null, source: 'agency', rule: code } }
}

/** A recipient behind a peer or upstream: the hub sends it (the push state machine), so mode 'push'. */
export function remoteDelivery (code: string, route: ResolvedRoute | undefined): NewDelivery | undefined {
  if (route == null || route.target.kind === 'local') return undefined
  return { id: randomUUID(), recipientCode: code, mode: 'push', route: { kind: route.target.kind, target: targetId(route.target), source: route.source, rule: route.rule } }
}

/** A status about a document forwarded here by `peerHubId`: back to that hub (peer forwarding). */
export function returnDelivery (code: string, peerHubId: string): NewDelivery {
  return { id: randomUUID(), recipientCode: code, mode: 'push', route: { kind: 'peer', target: peerHubId, source: 'return', rule: peerHubId } }
}

function outcomeOf (delivery: NewDelivery): RecipientOutcome {
  const route = delivery.route
  return {
    code: delivery.recipientCode,
    deliveryId: delivery.id,
    mode: delivery.mode,
    ...(route != null ? { route: { kind: route.kind, ...(route.target != null ? { target: route.target } : {}), source: route.source, rule: route.rule } } : {})
  }
}
