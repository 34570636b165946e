/**
 * Distinct signed documents for the accept benchmark. Every accepted document must be new to the
 * hub (a duplicate is answered from the database without verification and would flatter the
 * numbers), so each one gets its own DocumentId and CodeNumber (a fixed-width number, so that all
 * documents of one size have the same length) and its own random attachment, and is signed as
 * agency 000.00.00.G22 with `signEdxml` (rsa-sha256, exclusive C14N, Reference URI=""), exactly
 * like bench/verify's documents (bench/verify/make-documents.ts).
 *
 * Signing a 1 MB document costs about as much as verifying it, so the documents are signed by
 * worker threads (sign-worker.ts), one per core, before anything is measured.
 */
import { randomBytes } from 'node:crypto'
import { statSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { signEdxml } from '../../src/signing/sign-document.js'
import { FIXTURES } from '../../test/helpers/example-pki.js'
import { G22, readText } from '../verify/fixtures.js'

export interface DocumentBatch {
  /** Short name used in tables and file names ("10 KB"). */
  label: string
  targetBytes: number
  /** Paths of the signed files, all of them distinct documents. */
  paths: string[]
  /** Size of each signed file (they are all the same length). */
  bytes: number
}

const ATTACHMENT = /<ContentTransferEncoded>[^<]*<\/ContentTransferEncoded>/
const DOCUMENT_ID = /(<edXML:DocumentId>000\.00\.00\.G22,2026\/11\/20,)1234(\/VPCP-KSTT<\/edXML:DocumentId>)/
const CODE_NUMBER = /(<edXML:CodeNumber>)1234(<\/edXML:CodeNumber>)/
/** Width of the document number: same length for every document of a batch. */
const NUMBER_WIDTH = 7

/** A signer for the template with the given document number and base64 attachment. */
export function templateSigner (): (documentNumber: number, base64: string) => string {
  const template = readText(join(FIXTURES, 'templates', 'document-one-recipient.edxml'))
  for (const [what, pattern] of [['<ContentTransferEncoded>', ATTACHMENT], ['DocumentId 1234', DOCUMENT_ID], ['CodeNumber 1234', CODE_NUMBER]] as const) {
    if (!pattern.test(template)) throw new Error(`the template has no ${what}`)
  }
  return (documentNumber, base64) => {
    const n = String(documentNumber).padStart(NUMBER_WIDTH, '0')
    if (n.length !== NUMBER_WIDTH) throw new RangeError(`document number ${documentNumber} is wider than ${NUMBER_WIDTH} digits`)
    const xml = template
      .replace(DOCUMENT_ID, (_m, a: string, b: string) => `${a}${n}${b}`)
      .replace(CODE_NUMBER, (_m, a: string, b: string) => `${a}${n}${b}`)
      .replace(ATTACHMENT, () => `<ContentTransferEncoded>${base64}</ContentTransferEncoded>`)
    return signEdxml(xml, {
      privateKeyPem: G22.keyPem,
      certificatePem: G22.certificatePem + G22.chainPem,
      algorithm: 'rsa-sha256',
      canonicalization: 'exc'
    })
  }
}

/** Length of the base64 attachment that makes the signed document `targetBytes` long (to within base64 padding). */
export function attachmentLength (sign: (documentNumber: number, base64: string) => string, targetBytes: number): number {
  // Everything but the attachment has a fixed length (RSA-2048 SignatureValue, SHA-256 digest,
  // fixed-width number); an empty attachment would serialize as a self-closing element.
  const overhead = Buffer.byteLength(sign(0, 'AAAA')) - 4
  return Math.floor(Math.max(0, targetBytes - overhead) / 4) * 4
}

/** Signs documents `numbers` of one size into `dir` on the calling thread; returns the paths. */
export function signBatch (dir: string, label: string, targetBytes: number, numbers: number[]): string[] {
  const sign = templateSigner()
  const base64Length = attachmentLength(sign, targetBytes)
  const slug = label.replace(/\s+/g, '').toLowerCase()
  return numbers.map((n) => {
    const xml = sign(n, randomBytes(base64Length / 4 * 3).toString('base64'))
    const path = join(dir, `accept-${slug}-${String(n).padStart(NUMBER_WIDTH, '0')}.edxml`)
    writeFileSync(path, xml)
    return path
  })
}

export interface BatchRequest {
  label: string
  targetBytes: number
  count: number
  /** Document numbers firstNumber .. firstNumber + count - 1; ranges must not overlap across batches. */
  firstNumber: number
}

export interface SignWorkerTask {
  dir: string
  label: string
  targetBytes: number
  numbers: number[]
}

const SIGN_WORKER = fileURLToPath(new URL('./sign-worker.ts', import.meta.url))

/**
 * Signs every batch, spread over one worker thread per core: a piscina pool, which loads the
 * TypeScript module through tsx's require hook (a plain worker thread on Node 20 does not get
 * tsx's ESM hooks).
 */
export async function makeBatches (dir: string, requests: BatchRequest[], threads = availableParallelism()): Promise<DocumentBatch[]> {
  const pool = new Piscina<SignWorkerTask, string[]>({ filename: SIGN_WORKER, minThreads: threads, maxThreads: threads })
  try {
    // Slices small enough to keep every thread busy until the end.
    const tasks: Array<{ batch: number, task: SignWorkerTask }> = []
    for (const [batch, r] of requests.entries()) {
      const perTask = Math.max(1, Math.min(Math.ceil(r.count / threads), Math.ceil(4 * 1024 * 1024 / r.targetBytes)))
      for (let i = 0; i < r.count; i += perTask) {
        const numbers = Array.from({ length: Math.min(perTask, r.count - i) }, (_, k) => r.firstNumber + i + k)
        tasks.push({ batch, task: { dir, label: r.label, targetBytes: r.targetBytes, numbers } })
      }
    }
    // Largest first, so that the big document does not start last.
    tasks.sort((x, y) => y.task.targetBytes * y.task.numbers.length - x.task.targetBytes * x.task.numbers.length)
    const results: string[][] = requests.map(() => [])
    await Promise.all(tasks.map(async ({ batch, task }) => { results[batch]?.push(...await pool.run(task)) }))
    return requests.map((r, batch) => {
      const paths = (results[batch] ?? []).sort()
      const sizes = new Set(paths.map((p) => statSync(p).size))
      if (paths.length !== r.count || sizes.size !== 1) throw new Error(`${r.label}: expected ${r.count} documents of one size, got ${paths.length} of sizes ${[...sizes].join(', ')}`)
      return { label: r.label, targetBytes: r.targetBytes, paths, bytes: [...sizes][0] as number }
    })
  } finally {
    await pool.destroy()
  }
}
