import { type Agent, request } from 'node:http'
import type { SignedDocument } from './ops-fixtures.js'

/**
 * An agency's client in the fault tests (test/ops): POST /v1/documents over node:http, recording
 * what came back (status, stable code, Retry-After, the delivery ids of a 202) or the connection
 * error, and when. Never throws: an outage is an answer to count, not a test failure.
 */

export interface Answer {
  doc: SignedDocument
  status?: number
  code?: string
  retryAfter?: string
  /** The document id of a 202. */
  id?: string
  /** Recipient code -> delivery id, from a 202. */
  deliveries?: Record<string, string>
  error?: string
  at: number
}

interface AcceptedBody { code?: string, id?: string, recipients?: Array<{ code: string, deliveryId?: string }> }

export async function postDocument (url: string, key: string, doc: SignedDocument, agent: Agent): Promise<Answer> {
  return await new Promise((resolve) => {
    const req = request(`${url}/v1/documents`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/xml', 'content-length': doc.bytes.length, authorization: `Bearer ${key}` },
      timeout: 20_000
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        let body: AcceptedBody = {}
        try { body = JSON.parse(Buffer.concat(chunks).toString()) } catch {}
        const retryAfter = res.headers['retry-after']
        const deliveries = Object.fromEntries((body.recipients ?? []).filter((r) => r.deliveryId != null).map((r) => [r.code, r.deliveryId as string]))
        resolve({
          doc,
          status: res.statusCode,
          at: Date.now(),
          ...(body.code != null ? { code: body.code } : {}),
          ...(body.id != null ? { id: body.id } : {}),
          ...(Object.keys(deliveries).length > 0 ? { deliveries } : {}),
          ...(retryAfter != null ? { retryAfter } : {})
        })
      })
      res.on('error', (err) => resolve({ doc, error: err.message, at: Date.now() }))
    })
    req.on('timeout', () => req.destroy(new Error('no answer')))
    req.on('error', (err) => resolve({ doc, error: err.message, at: Date.now() }))
    req.end(doc.bytes)
  })
}

/** Answers counted by what they were: "202", "503 UNAVAILABLE", "error: socket hang up"... */
export function tally (answers: readonly Answer[]): Record<string, number> {
  const statuses: Record<string, number> = {}
  for (const a of answers) {
    const what = a.status != null ? `${a.status}${a.code != null ? ' ' + a.code : ''}` : `error: ${a.error ?? ''}`
    statuses[what] = (statuses[what] ?? 0) + 1
  }
  return statuses
}

/** Answers other than 202 or 503 UNAVAILABLE with Retry-After (connection errors are not answers). */
export function wrongAnswers (answers: readonly Answer[]): string[] {
  return answers
    .filter((a) => a.status != null && a.status !== 202 && !(a.status === 503 && a.code === 'UNAVAILABLE' && a.retryAfter != null))
    .map((a) => `${a.status ?? ''} ${a.code ?? ''} retry-after=${a.retryAfter ?? '-'}`)
}
