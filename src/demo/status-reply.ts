import { answeredDocumentOf, status03, type DemoAgency } from './demo-documents.js'
import { signAsDemoAgency } from './demo-agencies.js'
import { refusal, type HubClient } from './hub-client.js'

export interface StatusSent {
  /** The hub's id of the status message and its acceptance receipt. */
  id: string
  receipt: string
}

/**
 * What a recipient agency's software does once a document is in its incoming book: a signed
 * status 03 back through the hub (POST /v1/documents, like any document), routed by the hub to the
 * sender named in ResponseFor.
 */
export async function replyWithStatus03 (client: HubClient, from: DemoAgency, documentBytes: Buffer): Promise<StatusSent> {
  const answered = answeredDocumentOf(documentBytes)
  if (answered == null) throw new Error('the received bytes name no sender and DocumentId to answer')
  const signed = await signAsDemoAgency(from.code, status03(from, answered))
  const answer = await client.post('/v1/documents', signed)
  if (answer.status !== 202 && answer.status !== 200) throw refusal(answer)
  const body = answer.json<{ id: string, receipt: string }>()
  return { id: body.id, receipt: body.receipt }
}
