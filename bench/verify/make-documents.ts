/**
 * Builds the signed benchmark documents at bench time: the one-recipient template with its
 * attachment replaced by random bytes, base64-encoded on one line, sized so that the signed file
 * is the target size (to within the 3 bytes of base64 padding). Signed by agency G22 with
 * rsa-sha256 and exclusive C14N, as the hub's own signer does. Nothing here is committed.
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signEdxml } from '../../src/signing/sign-document.js'
import { FIXTURES } from '../../test/helpers/example-pki.js'
import { G22, readText } from './fixtures.js'

export interface DocumentSize {
  /** Short name used in tables and file names. */
  label: string
  targetBytes: number
}

export interface BenchDocument extends DocumentSize {
  path: string
  /** Actual size of the signed file. */
  bytes: number
}

export const SIZES: DocumentSize[] = [
  { label: '10 KB', targetBytes: 10 * 1024 },
  { label: '1 MB', targetBytes: 1024 * 1024 },
  { label: '20 MB', targetBytes: 20 * 1024 * 1024 }
]

const ATTACHMENT = /<ContentTransferEncoded>[^<]*<\/ContentTransferEncoded>/

export function makeDocuments (dir: string, sizes: DocumentSize[] = SIZES): BenchDocument[] {
  const template = readText(join(FIXTURES, 'templates', 'document-one-recipient.edxml'))
  if (!ATTACHMENT.test(template)) throw new Error('the template has no <ContentTransferEncoded> element')
  const sign = (base64: string): string => signEdxml(template.replace(ATTACHMENT, () => `<ContentTransferEncoded>${base64}</ContentTransferEncoded>`), {
    privateKeyPem: G22.keyPem,
    certificatePem: G22.certificatePem + G22.chainPem,
    algorithm: 'rsa-sha256',
    canonicalization: 'exc'
  })
  // Everything but the attachment has a fixed length (RSA-2048 SignatureValue, SHA-256 digest),
  // so one signature of a 4-character attachment gives the overhead to subtract (an empty one
  // would serialize as a self-closing element).
  const overhead = Buffer.byteLength(sign('AAAA')) - 4
  return sizes.map((size) => {
    const base64Length = Math.floor(Math.max(0, size.targetBytes - overhead) / 4) * 4
    const base64 = randomBytes(base64Length / 4 * 3).toString('base64')
    const xml = sign(base64)
    const path = join(dir, `signed-${size.label.replace(/\s+/g, '').toLowerCase()}.edxml`)
    writeFileSync(path, xml)
    return { ...size, path, bytes: Buffer.byteLength(xml) }
  })
}
