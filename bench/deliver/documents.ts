/**
 * Distinct signed documents for the delivery benchmark. Every submitted document must be new to
 * the hub (a duplicate is answered from the database and delivered to no one), so each gets its
 * own DocumentId and CodeNumber (a fixed-width number, so that all documents have the same length)
 * and its own random attachment. They are the one-recipient template addressed to the chosen
 * recipient (000.00.00.H29, push, or the template's 000.00.00.G12, pull), 10 KB, signed as agency
 * 000.00.00.G22 with `signEdxml` (rsa-sha256, exclusive C14N, Reference URI="") like bench/verify's
 * and bench/accept's documents.
 *
 * Signing costs about as much as verifying, so it runs in a piscina pool of one worker thread per
 * core (sign-worker.ts), never while something is being measured.
 */
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { signEdxml } from '../../src/signing/sign-document.js'
import { FIXTURES } from '../../test/helpers/example-pki.js'
import { G22, readText } from '../verify/fixtures.js'

export const SENDER = '000.00.00.G22'
/** Push recipient (the bench points its push URL at the bench's own HTTPS server). */
export const PUSH_RECIPIENT = '000.00.00.H29'
/** Pull recipient: accepting a document for it enqueues nothing (bench/accept's recipient). */
export const PULL_RECIPIENT = '000.00.00.G12'

const ATTACHMENT = /<ContentTransferEncoded>[^<]*<\/ContentTransferEncoded>/
const TO = /(<edXML:To>\s*<edXML:OrganId>)[^<]+/
const DOCUMENT_ID = /(<edXML:DocumentId>000\.00\.00\.G22,2026\/11\/20,)1234(\/VPCP-KSTT<\/edXML:DocumentId>)/
const CODE_NUMBER = /(<edXML:CodeNumber>)1234(<\/edXML:CodeNumber>)/
const NUMBER_WIDTH = 7

export interface SignTask {
  recipient: string
  targetBytes: number
  numbers: number[]
}

/** The edXML DocumentId of document `n` (what the recipient sees, percent-encoded, in X-Lienthong-Edxml-Document-Id). */
export const edxmlDocumentId = (n: number): string => `${SENDER},2026/11/20,${String(n).padStart(NUMBER_WIDTH, '0')}/VPCP-KSTT`

/** Signs documents `numbers` on the calling thread; returns their XML. */
export function signDocuments (task: SignTask): string[] {
  const template = readText(join(FIXTURES, 'templates', 'document-one-recipient.edxml'))
  for (const [what, pattern] of [['<ContentTransferEncoded>', ATTACHMENT], ['<To><OrganId>', TO], ['DocumentId 1234', DOCUMENT_ID], ['CodeNumber 1234', CODE_NUMBER]] as const) {
    if (!pattern.test(template)) throw new Error(`the template has no ${what}`)
  }
  const sign = (n: number, base64: string): string => {
    const number = String(n).padStart(NUMBER_WIDTH, '0')
    if (number.length !== NUMBER_WIDTH) throw new RangeError(`document number ${n} is wider than ${NUMBER_WIDTH} digits`)
    const xml = template
      .replace(TO, (_m, a: string) => `${a}${task.recipient}`)
      .replace(DOCUMENT_ID, (_m, a: string, b: string) => `${a}${number}${b}`)
      .replace(CODE_NUMBER, (_m, a: string, b: string) => `${a}${number}${b}`)
      .replace(ATTACHMENT, () => `<ContentTransferEncoded>${base64}</ContentTransferEncoded>`)
    return signEdxml(xml, {
      privateKeyPem: G22.keyPem,
      certificatePem: G22.certificatePem + G22.chainPem,
      algorithm: 'rsa-sha256',
      canonicalization: 'exc'
    })
  }
  // Everything but the attachment has a fixed length, so one signature with a 4-character
  // attachment gives the overhead to subtract.
  const overhead = Buffer.byteLength(sign(0, 'AAAA')) - 4
  const base64Length = Math.floor(Math.max(0, task.targetBytes - overhead) / 4) * 4
  return task.numbers.map((n) => sign(n, randomBytes(base64Length / 4 * 3).toString('base64')))
}

export interface BenchDocument {
  /** Document number (DocumentId and CodeNumber). */
  number: number
  body: Buffer
}

const SIGN_WORKER = fileURLToPath(new URL('./sign-worker.ts', import.meta.url))

/**
 * A signing pool, one worker thread per core. piscina loads the TypeScript worker through tsx's
 * require hook (a plain worker thread on Node 20 does not get tsx's ESM hooks).
 */
export class Signer {
  private readonly pool: Piscina<SignTask, string[]>
  private readonly threads: number

  constructor (threads = availableParallelism()) {
    this.threads = threads
    this.pool = new Piscina<SignTask, string[]>({ filename: SIGN_WORKER, minThreads: threads, maxThreads: threads })
  }

  /** `count` distinct documents numbered from `firstNumber`, in number order. */
  async sign (recipient: string, targetBytes: number, firstNumber: number, count: number): Promise<BenchDocument[]> {
    const perTask = Math.max(1, Math.min(50, Math.ceil(count / this.threads)))
    const tasks: Array<Promise<BenchDocument[]>> = []
    for (let i = 0; i < count; i += perTask) {
      const numbers = Array.from({ length: Math.min(perTask, count - i) }, (_, k) => firstNumber + i + k)
      tasks.push(this.pool.run({ recipient, targetBytes, numbers }).then((xml) => xml.map((x, k) => ({ number: numbers[k] as number, body: Buffer.from(x) }))))
    }
    const documents = (await Promise.all(tasks)).flat()
    const sizes = new Set(documents.map((d) => d.body.length))
    if (documents.length !== count || sizes.size !== 1) throw new Error(`expected ${count} documents of one size, got ${documents.length} of sizes ${[...sizes].join(', ')}`)
    return documents
  }

  async close (): Promise<void> {
    await this.pool.destroy()
  }
}
