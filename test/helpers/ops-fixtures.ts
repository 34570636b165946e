import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signEdxml } from '../../src/signing/sign-document.js'
import { FIXTURES, PKI } from './example-pki.js'

/**
 * Inputs of the operational tests (test/ops): distinct signed documents, and a copy of the demo
 * registry whose push URLs point at the test's own recipient servers.
 */

export const SENDER = '000.00.00.G22'
/** The push recipient of the many-recipients template (its other two, G12 and H41, pull). */
export const PUSH_RECIPIENT = '000.00.00.H29'

const pem = (...path: string[]): string => readFileSync(join(PKI, ...path), 'utf8')
const TEMPLATE = readFileSync(join(FIXTURES, 'templates', 'document-many-recipients.edxml'), 'utf8')
const DOCUMENT_ID = '000.00.00.G22,2026/11/20,1235/VPCP-KSTT'
const CODE_NUMBER = '<edXML:CodeNumber>1235<'

export interface SignedDocument {
  n: number
  edxmlDocumentId: string
  bytes: Buffer<ArrayBuffer>
  sha256: string
  /** The To/OrganId codes, in document order. */
  recipients: string[]
}

/**
 * Document `n` from G22 to G12, H41 (pull) and H29 (push), signed by G22: its own DocumentId and
 * CodeNumber, so every `n` is a new document to the hub (never a duplicate of another).
 */
export function signedDocument (n: number): SignedDocument {
  if (!TEMPLATE.includes(DOCUMENT_ID) || !TEMPLATE.includes(CODE_NUMBER)) throw new Error('the many-recipients template changed: no DocumentId/CodeNumber 1235')
  const edxmlDocumentId = `${SENDER},2026/11/20,${n}/VPCP-KSTT`
  const xml = TEMPLATE.replace(DOCUMENT_ID, edxmlDocumentId).replace(CODE_NUMBER, `<edXML:CodeNumber>${n}<`)
  const bytes = Buffer.from(signEdxml(xml, {
    privateKeyPem: pem('agencies', SENDER, 'key.pem'),
    certificatePem: pem('agencies', SENDER, 'cert.pem') + pem('agencies', SENDER, 'chain.pem')
  }))
  return { n, edxmlDocumentId, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), recipients: ['000.00.00.G12', '000.00.00.H41', PUSH_RECIPIENT] }
}

/** Documents `first`, `first + 1`, ... (`count` of them). */
export function signedDocuments (first: number, count: number): SignedDocument[] {
  return Array.from({ length: count }, (_, i) => signedDocument(first + i))
}

/**
 * A copy of certs-example/registry.json in `dir` with the given agencies' push URLs replaced
 * (the hub seeds agencies from it at start, so a gateway process must be given this file as
 * LIENTHONG_REGISTRY). Returns its path.
 */
export function registryWithPushUrls (dir: string, urls: Record<string, string>): string {
  const registry = JSON.parse(pem('registry.json')) as { agencies: Array<{ code: string, delivery: { mode: string, url?: string } }> }
  for (const [code, url] of Object.entries(urls)) {
    const agency = registry.agencies.find((a) => a.code === code)
    if (agency?.delivery.mode !== 'push') throw new Error(`${code} is not a push agency in the demo registry`)
    agency.delivery.url = url
  }
  const file = join(dir, 'registry.json')
  writeFileSync(file, JSON.stringify(registry, null, 2))
  return file
}

const ONE_RECIPIENT = readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8')

/**
 * The one-recipient template from `from` to `to`, numbered `n` (its own DocumentId and
 * CodeNumber), signed by `from`. The recipient is replaced before the sender: the template's
 * sender (G22) could otherwise be taken for its recipient (G12) when `from` is G12.
 */
export function documentFromTo (from: string, to: string, n: number): Buffer {
  return Buffer.from(signEdxml(unsignedXmlFromTo(from, to, n), {
    privateKeyPem: pem('agencies', from, 'key.pem'),
    certificatePem: pem('agencies', from, 'cert.pem') + pem('agencies', from, 'chain.pem')
  }))
}

/** The same document as documentFromTo, without any signature (VDXP unsigned envelopes). */
export function unsignedXmlFromTo (from: string, to: string, n: number): string {
  return ONE_RECIPIENT
    .replace(/(<edXML:To>[\s\S]*?<edXML:OrganId>)000\.00\.00\.G12(<\/edXML:OrganId>)/, `$1${to}$2`)
    .replace(/(<edXML:From>[\s\S]*?<edXML:OrganId>)000\.00\.00\.G22(<\/edXML:OrganId>)/, `$1${from}$2`)
    .replace('<edXML:DocumentId>000.00.00.G22,2026/11/20,1234/VPCP-KSTT</edXML:DocumentId>', `<edXML:DocumentId>${from},2026/11/20,${n}/VPCP-KSTT</edXML:DocumentId>`)
    .replace('<edXML:CodeNumber>1234</edXML:CodeNumber>', `<edXML:CodeNumber>${n}</edXML:CodeNumber>`)
}

/** A genuine G22 document (to G12) of about `size` bytes: the template with a random attachment, signed. */
export function signedDocumentOfSize (size: number): Buffer {
  const attachment = randomBytes(Math.floor(size * 3 / 4)).toString('base64')
  const xml = ONE_RECIPIENT.replace(/<ContentTransferEncoded>[^<]*<\/ContentTransferEncoded>/, `<ContentTransferEncoded>${attachment}</ContentTransferEncoded>`)
  if (xml === ONE_RECIPIENT) throw new Error('the template has no ContentTransferEncoded to replace')
  return Buffer.from(signEdxml(xml, {
    privateKeyPem: pem('agencies', SENDER, 'key.pem'),
    certificatePem: pem('agencies', SENDER, 'cert.pem') + pem('agencies', SENDER, 'chain.pem')
  }))
}
