import { createHash, randomUUID } from 'node:crypto'
import type { Database } from '../db/database.js'
import { entryFromVerdict, type SignatureLogEntryInput } from '../evidence/signature-log.js'
import { callAppend, sequencerFor } from '../evidence/signature-log-sequencer.js'
import { storeAcceptedDocument } from './store-accepted-document.js'
import { issueReceipt } from '../evidence/receipts.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'
import { markEnqueued } from '../store/delivery-outbox.js'
import { findAgencies, localCaseVariants } from '../store/agencies.js'
import { submitsHere } from '../store/submitting-agencies.js'
import { findAnsweredDocument, findDuplicate, insertReceipt, type NewDelivery } from '../store/documents.js'
import { deliveryRouteTo, deliveryTo, documentHops, findArrival, insertArrival, insertForwardedDelivery, setDocumentHops, storedFacts } from '../store/peer-forwarding.js'
import { problemStatus, type ProblemCode } from '../errors/problem.js'
import type { Accepted, Verdict } from '../domain/verdict.js'
import type { Hop } from '../routing/hops.js'
import type { PeerHub } from '../routing/peer-hubs.js'
import type { RouteTableSource } from '../routing/stored-routes.js'
import { localDelivery, remoteDelivery, returnDelivery } from './accept-submission.js'
import { bindForwardedSender, type ForwardingDirectory } from './forwarded-sender.js'

export interface ForwardedDependencies {
  db: Database
  /** The full verification policy, as for a local submission: the forwarding hub's verdict counts for nothing. */
  verify: (bytes: Buffer) => Promise<Verdict>
  queue: DeliveryQueue | undefined
  hub: HubIdentity
  /** This hub's id (LIENTHONG_HUB_ID). */
  hubId: string
  /** Peers, upstreams and rules (src/routing): where a recipient that is not an agency of this hub leads (a transit hop). */
  routes?: RouteTableSource | undefined
  /**
   * Peers' signed directories in force: the sender binding of a document whose sender the
   * registry does not know (`verify` then returns its signer unbound, see forwarded-sender.ts).
   */
  directory?: ForwardingDirectory | undefined
  onEnqueueError?: (err: unknown, deliveryIds: string[]) => void
}

export interface ForwardedSubmission {
  bytes: Buffer
  /** The authenticated peer hub (its TLS client certificate). */
  peer: PeerHub
  /** The hop list as received: the forwarding peer is its last entry. */
  hops: Hop[]
  /** The peer's Idempotency-Key (its delivery id): a retried hop is answered from the first. */
  idempotencyKey: string
  /** The agency this hop is for: one of the document's To (a status: the sender it answers). */
  recipient: string
  requestId?: string
}

export type ForwardedOutcome =
  | { outcome: 'accepted', documentId: string, deliveryId: string, receipt: string, route: 'local' | 'peer' | 'upstream', enqueued: boolean }
  | { outcome: 'duplicate', documentId: string, deliveryId: string | null, receipt: string }
  | { outcome: 'rejected', code: ProblemCode, status: number, detail: string, signatureLogId?: number }

/**
 * A document or status forwarded by a peer hub (issue 13): verified here with the full policy,
 * addressed to `recipient`, routed on from here (a local agency, the next peer, or, for a status,
 * back to the hub its document came from), and stored with its hop list in one transaction with
 * its signature-log entry and this hub's signed acceptance receipt. The same Idempotency-Key from
 * the same peer is answered with the first acceptance (a retried hop is harmless).
 */
export async function acceptForwarded (deps: ForwardedDependencies, submission: ForwardedSubmission): Promise<ForwardedOutcome> {
  const { db } = deps
  const { peer } = submission
  const earlier = await answerFromArrival(db, submission)
  if (earlier != null) return earlier

  const verdict = await deps.verify(submission.bytes)
  const flags = [`forwarded-by:${peer.hubId}`]
  const base: SignatureLogEntryInput = { ...entryFromVerdict(verdict, { requestId: submission.requestId, sizeBytes: submission.bytes.length }), flags }
  const reject = async (code: ProblemCode, detail: string): Promise<ForwardedOutcome> => {
    const logged = await sequencerFor(db).appendEntry({ ...base, verdict: 'rejected', reasonCode: code, detail })
    return { outcome: 'rejected', code, status: problemStatus(code), detail, signatureLogId: logged.id }
  }
  if (verdict.verdict === 'rejected') return await reject(verdict.code, verdict.detail)
  // Sender binding (security.md step 5) for a sender the registry does not know: the registry,
  // when it knows the sender, has bound it in `verify` already (an explicit override).
  if (verdict.unboundSigner != null) {
    const binding = await bindForwardedSender(deps.directory, verdict.agency, verdict.unboundSigner, submission.hops)
    if (!binding.bound) return await reject(binding.code, binding.detail)
    flags.push(binding.flag)
  }
  base.flags = [...new Set([...(base.flags ?? []), ...flags])]

  const recipient = submission.recipient
  const envelope = verdict.envelope
  // One of this hub's own senders (submitsHere: a credential, a VDXP system or a clerk here, the
  // rule upstream-path.ts applies to upstreams) sends only through its own authenticated
  // submission: its signed bytes arriving from a peer are a replay (a captured document
  // re-injected, a loop whose hop list was rewritten), whatever the hop list says. Refused before
  // anything is stored. A registry row alone does not make a sender ours: an upstream's senders
  // are listed only to verify what they sign, and a peer may well forward them.
  if (await submitsHere(db, verdict.agency)) {
    return await reject('PEER_NOT_ON_PATH', `${verdict.agency} submits to this hub (${deps.hubId}) itself: what it signs enters here through its own submission, never forwarded by peer hub ${peer.hubId}`)
  }
  // The recipient the peer names must be one the signed envelope names: a peer cannot redirect a
  // document to an agency its sender did not address.
  let answers: string | undefined
  let backTo: string | null = null
  if (envelope.kind === 'status') {
    const answered = envelope.responseFor.find((r) => r.organId != null && r.documentId != null)
    if (answered?.organId !== recipient || answered.documentId == null) return await reject('RECIPIENT_UNKNOWN', `the status message answers ${answered?.organId ?? 'no agency'}, not ${recipient}`)
    const original = await findAnsweredDocument(db, answered.organId, answered.documentId)
    if (original == null) return await reject('DOCUMENT_UNKNOWN', `no document ${answered.documentId} from ${answered.organId} is known to this hub`)
    const route = await deliveryRouteTo(db, original.id, verdict.agency)
    if (route == null) return await reject('FORBIDDEN', `${verdict.agency} is not a recipient of document ${answered.documentId}`)
    // A status travels back along the path its document went: only the peer this hub forwarded
    // the document to (for that recipient) may bring the recipient's status. Another peer holding
    // a copy of the status (it saw it elsewhere) has no business here, and a status of a recipient
    // reached locally or upstream never comes from a peer.
    if (route.kind !== 'peer' || route.target !== peer.hubId) {
      return await reject('PEER_NOT_ON_PATH', `document ${answered.documentId} went to ${verdict.agency} ${route.kind === 'peer' ? `through peer hub ${route.target ?? '?'}` : `by route ${route.kind}`}, not through ${peer.hubId}: its status must come back that way`)
    }
    answers = original.id
    // A status goes back along the path its document came: to the hub that forwarded it here.
    backTo = (await documentHops(db, original.id))?.fromHub ?? null
  } else if (!envelope.to.some((t) => t.organId === recipient)) {
    return await reject('RECIPIENT_UNKNOWN', `the document is not addressed to ${recipient} (To: ${envelope.to.map((t) => t.organId).join(', ')})`)
  }

  const delivery = await routeHere(deps, recipient, backTo, submission.hops)
  if ('problem' in delivery) return await reject(delivery.problem, delivery.detail)

  const existing = await findDuplicate(db, verdict.digestSha256, verdict.agency, envelope.documentId, envelope.kind)
  try {
    if (existing != null) return await addRecipient(deps, submission, base, existing, delivery)
    return await storeNew(deps, submission, base, verdict, delivery, answers)
  } catch (err) {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err
    // Two hops raced past findArrival and findDuplicate (a peer's retries overlapping, or sent
    // at once on purpose): the loser's transaction rolled back whole, and it answers from what
    // the winner stored, like a retried hop (a 500 made the peer retry, each retry verified
    // again; test/security/attack-peer-race.test.ts).
    const arrived = await answerFromArrival(db, submission)
    if (arrived != null) return arrived
    const stored = await findDuplicate(db, verdict.digestSha256, verdict.agency, envelope.documentId, envelope.kind)
    if (stored != null) return await addRecipient(deps, submission, base, stored, delivery)
    throw err
  }
}

const UNIQUE_VIOLATION = '23505'

/**
 * The answer to a hop whose Idempotency-Key this peer used before: the first acceptance again.
 * The key answers the very hop it was first used for, and nothing else: the same key with other
 * bytes or for another recipient would otherwise get the first hop's receipt, which the
 * forwarding hub would keep as proof of a hop that never happened. Checked by digest, before any
 * signature work (a protocol error of the peer, like a bad header: no log entry).
 */
async function answerFromArrival (db: Database, submission: ForwardedSubmission): Promise<ForwardedOutcome | undefined> {
  const { peer } = submission
  const earlier = await findArrival(db, peer.hubId, submission.idempotencyKey)
  if (earlier == null) return undefined
  const digest = createHash('sha256').update(submission.bytes).digest('hex')
  const first = await storedFacts(db, earlier.documentId)
  if (first?.digestSha256 !== digest || earlier.recipientCode !== submission.recipient) {
    return { outcome: 'rejected', code: 'CONFLICT', status: problemStatus('CONFLICT'), detail: `Idempotency-Key ${submission.idempotencyKey} of peer hub ${peer.hubId} was used for ${earlier.recipientCode === submission.recipient ? 'other bytes' : `recipient ${earlier.recipientCode}`}: a retried hop sends the same bytes for the same recipient` }
  }
  return { outcome: 'duplicate', documentId: earlier.documentId, deliveryId: earlier.deliveryId, receipt: earlier.receiptXml }
}

/** A document (or status) new to this hub: stored with its hop list and arrival, receipt and log entry in one transaction. */
async function storeNew (
  deps: ForwardedDependencies,
  submission: ForwardedSubmission,
  base: SignatureLogEntryInput,
  verdict: Accepted,
  delivery: NewDelivery,
  answers: string | undefined
): Promise<ForwardedOutcome> {
  const { db } = deps
  const { peer } = submission
  const envelope = verdict.envelope
  const recipient = submission.recipient

  const documentId = randomUUID()
  const deliveryId = delivery.id
  const acceptedAt = new Date()
  // The document, its delivery, receipt, status event and log entry in the accepting statement
  // (migration 014, through the signature-log sequencer), and in the same transaction the hop list
  // and the arrival: a retried hop must find both, or neither.
  const receipt = await sequencerFor(db).append({ ...base, hubDocumentId: documentId }, {
    prepare: async (entry) => issueReceipt({
      kind: 'acceptance',
      issuedAt: acceptedAt,
      hubDocumentId: documentId,
      edxmlDocumentId: envelope.documentId,
      digestSha256: verdict.digestSha256,
      sender: verdict.agency,
      recipients: [recipient],
      signatureLogEntry: entry.id,
      signatureLogEntryHash: entry.entryHash
    }, deps.hub),
    write: async (entry, xml, run) => await run(async (tx) => {
      await storeAcceptedDocument(async (fn) => await fn(tx), {
        entry,
        document: { id: documentId, verdict, raw: submission.bytes, acceptedAt, responseForDocumentId: answers },
        deliveries: [delivery],
        pushEnqueued: false,
        receipt: { id: randomUUID(), xml },
        ...(answers != null ? { statusEvent: { id: randomUUID(), description: envelope.description } } : {})
      })
      await setDocumentHops(tx, documentId, submission.hops, peer.hubId)
      await insertArrival(tx, peer.hubId, submission.idempotencyKey, { documentId, deliveryId, recipientCode: recipient, receiptXml: xml })
      return xml
    }, true)
  })
  const enqueued = delivery.mode === 'pull' || await enqueue(deps, deliveryId, recipient)
  return { outcome: 'accepted', documentId, deliveryId, receipt, route: delivery.route?.kind ?? 'local', enqueued }
}

type HereRoute = NewDelivery | { problem: ProblemCode, detail: string }

/**
 * Where the recipient leads from this hub: back to `backTo` (a status), a local agency, or the
 * next peer hub per the route table. A next hub already in the hop list would be a loop: refused
 * here with HOP_LOOP, so the misconfigured route is named at the hub that has it.
 */
async function routeHere (deps: ForwardedDependencies, recipient: string, backTo: string | null, hops: readonly Hop[]): Promise<HereRoute> {
  if (backTo != null) return returnDelivery(recipient, backTo)
  const local = (await findAgencies(deps.db, [recipient])).get(recipient)
  if (local != null) return localDelivery(recipient, local.delivery_mode)
  // A case variant of an agency of this hub is refused, not routed on (codes match exactly).
  const variant = (await localCaseVariants(deps.db, [recipient])).get(recipient)
  if (variant != null) return { problem: 'RECIPIENT_CASE_MISMATCH', detail: `${recipient} differs from this hub's agency ${variant} only in letter case: agency codes match exactly` }
  const table = await deps.routes?.table()
  const resolved = table?.resolveRemote(recipient)
  if (resolved?.target.kind === 'peer') {
    const next = resolved.target.hubId
    if (next === deps.hubId || hops.some((h) => h.hub === next)) {
      return { problem: 'HOP_LOOP', detail: `this hub (${deps.hubId}) routes ${recipient} to ${next} (rule ${resolved.rule}), which the document already went through: a routing loop` }
    }
  }
  return remoteDelivery(recipient, resolved) ??
    { problem: 'RECIPIENT_UNROUTABLE', detail: `${recipient} is neither an agency of this hub (${deps.hubId}) nor routed anywhere from it` }
}

/**
 * The document is already here (forwarded for another of its recipients, or by another path):
 * a delivery to this recipient is added if it has none, and the hop is answered with an
 * acceptance receipt of its own: the stored document's digest, this hop's recipient, and the
 * signature-log entry of this arrival. (The document's first receipt names only the recipients
 * of its first arrival: a forwarding hub checking what it got for this hop would find its
 * recipient missing.)
 */
async function addRecipient (
  deps: ForwardedDependencies,
  submission: ForwardedSubmission,
  base: SignatureLogEntryInput,
  existing: { id: string },
  delivery: NewDelivery
): Promise<ForwardedOutcome> {
  const { db } = deps
  const { peer } = submission
  const stored = await storedFacts(db, existing.id)
  if (stored == null) throw new Error(`document ${existing.id} vanished while a peer's hop for it was accepted`)
  const found = await deliveryTo(db, existing.id, submission.recipient)
  const deliveryId = found ?? delivery.id
  const detail = `duplicate of ${existing.id}${found == null ? `; delivery to ${submission.recipient} added` : ''}`
  const receipt = await sequencerFor(db).append({ ...base, verdict: 'duplicate', hubDocumentId: existing.id, detail }, {
    prepare: async (entry) => issueReceipt({
      kind: 'acceptance',
      issuedAt: new Date(),
      hubDocumentId: existing.id,
      ...(stored.edxmlDocumentId != null ? { edxmlDocumentId: stored.edxmlDocumentId } : {}),
      digestSha256: stored.digestSha256,
      sender: stored.senderCode,
      recipients: [submission.recipient],
      signatureLogEntry: entry.id,
      signatureLogEntryHash: entry.entryHash
    }, deps.hub),
    write: async (entry, xml, run) => await run(async (tx) => {
      await callAppend(tx, entry)
      if (found == null) await insertForwardedDelivery(tx, existing.id, delivery)
      await insertReceipt(tx, { id: randomUUID(), documentId: existing.id, deliveryId, kind: 'acceptance', xml })
      await insertArrival(tx, peer.hubId, submission.idempotencyKey, { documentId: existing.id, deliveryId, recipientCode: submission.recipient, receiptXml: xml })
      return xml
    }, true)
  })
  if (found == null && delivery.mode === 'push') await enqueue(deps, deliveryId, submission.recipient)
  return { outcome: 'duplicate', documentId: existing.id, deliveryId, receipt }
}

async function enqueue (deps: ForwardedDependencies, deliveryId: string, recipient: string): Promise<boolean> {
  if (deps.queue == null) return false
  try {
    await deps.queue.enqueue([{ id: deliveryId, recipient }])
    await markEnqueued(deps.db, [deliveryId])
    return true
  } catch (err) {
    // The row is the truth: the reconciler enqueues it when Redis is back.
    deps.onEnqueueError?.(err, [deliveryId])
    return false
  }
}
