import { createHash } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import { appendSignatureLog } from '../evidence/signature-log.js'
import type { VerificationPolicy } from '../verification/verification-policy.js'
import { verifySignedXml, type SignedXmlVerdict } from '../verification/verify-signed-xml.js'
import type { CertificateSummary, RevocationResult } from '../domain/verdict.js'
import type { DeliveryRow } from '../store/deliveries.js'
import { insertRecipientReceipt } from '../store/recipient-receipts.js'
import type { PushResponse } from '../outbound/push-client.js'
import { directText, type XmlDocument, type XmlElement } from '../xmldsig/xml-tree.js'

const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#'

/**
 * A push answer is treated as the recipient's own signed receipt when it is XML carrying an
 * XML-DSig signature. Anything else (empty, JSON, plain text) is just an answer, kept as such in
 * deliveries.last_response.
 */
export function carriesSignedReceipt (response: PushResponse): boolean {
  const head = response.body.subarray(0, 1024).toString('utf8').trimStart().replace(/^\uFEFF/, '')
  return head.startsWith('<') && response.body.includes(XMLDSIG_NS) && response.body.includes('Signature')
}

/** The reason code of a genuine recipient signature over a receipt that is not about this delivery. */
export const NOT_FOR_THIS_DELIVERY = 'RECEIPT_NOT_FOR_THIS_DELIVERY'

/**
 * A verified signature by the recipient over something that does not name this delivery (an old
 * receipt of another document replayed by whoever answered): kept, not verified.
 */
export interface NotForThisDelivery {
  ok: false
  digestSha256: string
  code: typeof NOT_FOR_THIS_DELIVERY
  detail: string
  signer: CertificateSummary
  chain: CertificateSummary[]
  algorithms: object
  revocation: RevocationResult
}

export type RecipientReceiptVerdict = (Exclude<SignedXmlVerdict, { ok: true }> | (Omit<Extract<SignedXmlVerdict, { ok: true }>, 'tree' | 'signature'> & { about?: string })) | NotForThisDelivery

/**
 * Verifies the receipt as signed by the recipient agency itself (its registered certificate,
 * full path validation and revocation), then that it is about THIS delivery: its signed content
 * must name the delivery id, the hub's document id, the document's SHA-256 digest or its edXML
 * DocumentId (receiptSubject). A genuine signature over anything else proves nothing about this
 * delivery. Runs outside any transaction: it is CPU work.
 */
export async function checkRecipientReceipt (policy: VerificationPolicy, row: DeliveryRow, response: PushResponse): Promise<RecipientReceiptVerdict> {
  if (response.truncated) {
    const digestSha256 = createHash('sha256').update(response.body).digest('hex')
    return { ok: false, digestSha256, code: 'PAYLOAD_TOO_LARGE', detail: 'the receipt is longer than the 64 KB kept of an answer' }
  }
  const verdict = await verifySignedXml(response.body, policy, row.recipient_code)
  if (!verdict.ok) return verdict
  const { tree, signature, ...held } = verdict
  const about = receiptSubject(tree, signature, row)
  if (about == null) {
    return {
      ok: false,
      digestSha256: verdict.digestSha256,
      code: NOT_FOR_THIS_DELIVERY,
      detail: `the receipt is validly signed by ${row.recipient_code} but names neither this delivery (${row.id}), nor the document (${row.document_id}), ` +
        `its digest (${row.digest_sha256})${row.edxml_document_id != null ? ` nor its DocumentId (${row.edxml_document_id})` : ''}: it is not about this delivery`,
      signer: verdict.signer,
      chain: verdict.chain,
      algorithms: verdict.algorithms,
      revocation: verdict.revocation
    }
  }
  return { ...held, about }
}

const XML_SPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g

/**
 * Which identifier of this delivery the receipt names, or undefined. Looks at the text of every
 * element and every attribute value outside ds:Signature, trimmed of XML whitespace, compared
 * exactly (ids and digest case-insensitively). Only called once the signature over the whole
 * document verified, so what is read is signed content (comments and processing instructions
 * are not text here: they are not covered by a comment-free canonicalization).
 */
export function receiptSubject (tree: XmlDocument, signature: XmlElement, row: Pick<DeliveryRow, 'id' | 'document_id' | 'digest_sha256' | 'edxml_document_id'>): string | undefined {
  const wanted: Array<[string, string, boolean]> = [
    ['the delivery id', row.id.toLowerCase(), true],
    ['the hub document id', row.document_id.toLowerCase(), true],
    ['the document digest', row.digest_sha256.toLowerCase(), true],
    ...(row.edxml_document_id != null && row.edxml_document_id !== '' ? [['the edXML DocumentId', row.edxml_document_id, false] as [string, string, boolean]] : [])
  ]
  const match = (value: string): string | undefined => {
    const v = value.replace(XML_SPACE, '')
    for (const [name, expected, folded] of wanted) if ((folded ? v.toLowerCase() : v) === expected) return name
    return undefined
  }
  // The very tree whose canonical form the signature covered (no second parser): every element
  // but the signature's own subtree; text is text and CDATA, comments skipped as C14N does.
  for (const element of tree.elements) {
    if (element.uri === XMLDSIG_NS || insideSignature(element, signature)) continue
    for (const a of element.attributes) {
      const found = match(a.value)
      if (found != null) return found
    }
    const found = match(directText(element))
    if (found != null) return found
  }
  return undefined
}

function insideSignature (element: XmlElement, signature: XmlElement): boolean {
  for (let e: XmlElement | undefined = element; e != null; e = e.parent) if (e === signature) return true
  return false
}

/**
 * Records the receipt and its verification: a signature-log entry (like every verification the
 * hub makes, flagged `recipient-receipt`) and the receipt row linked to the delivery. Inside the
 * transaction that marks the delivery delivered, so the receipt is never lost or doubled.
 */
export async function recordRecipientReceipt (tx: Queryable, row: DeliveryRow, body: Buffer, verdict: RecipientReceiptVerdict): Promise<{ verified: boolean, signatureLogId: number }> {
  // The signature itself held (and its chain and revocation are evidence) but not the subject.
  const held = verdict.ok ? verdict : verdict.code === NOT_FOR_THIS_DELIVERY ? verdict as NotForThisDelivery : undefined
  const logged = await appendSignatureLog(tx, {
    claimedAgency: row.recipient_code,
    hubDocumentId: row.document_id,
    digestSha256: verdict.digestSha256,
    sizeBytes: body.length,
    ...(verdict.algorithms != null ? { algorithms: verdict.algorithms } : {}),
    ...(verdict.signer != null ? { signer: verdict.signer } : {}),
    ...(held != null ? { chain: held.chain, revocation: held.revocation } : {}),
    verdict: verdict.ok ? 'accepted' : 'rejected',
    ...(verdict.ok ? {} : { reasonCode: verdict.code, detail: verdict.detail }),
    flags: ['recipient-receipt']
  })
  await insertRecipientReceipt(tx, {
    deliveryId: row.id,
    documentId: row.document_id,
    recipientCode: row.recipient_code,
    xml: body.toString('utf8'),
    digestSha256: verdict.digestSha256,
    verified: verdict.ok,
    reasonCode: verdict.ok ? null : verdict.code,
    detail: verdict.ok ? null : verdict.detail,
    signerSubject: verdict.signer?.subject ?? null,
    signerFingerprintSha256: verdict.signer?.fingerprintSha256 ?? null,
    signatureLogId: logged.id
  })
  return { verified: verdict.ok, signatureLogId: logged.id }
}
