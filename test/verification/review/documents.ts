import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { signEdxml, type Canonicalization } from '../../../src/signing/sign-document.js'
import { FIXTURES } from '../../helpers/example-pki.js'
import { G22_DIR } from './xmlsec1.js'

const KEY = readFileSync(join(G22_DIR, 'key.pem'), 'utf8')
const CERT_AND_CHAIN = readFileSync(join(G22_DIR, 'cert.pem'), 'utf8') + readFileSync(join(G22_DIR, 'chain.pem'), 'utf8')

/** A mutation that changes nothing proves nothing. */
export function must (changed: string, original: string, what: string): string {
  if (changed === original) throw new Error(`mutation had no effect: ${what}`)
  return changed
}

export const replace = (xml: string, from: string | RegExp, to: string, what = String(from)): string => must(xml.replace(from, to), xml, what)

export const CONTENT = 'Đề nghị các cơ quan hoàn thành kết nối trước ngày 31/12/2026.'
/** The signed text carries a line feed, so that it can be swapped for U+2028 / U+0085 after signing. */
export const CONTENT_WITH_LF = 'Đề nghị các cơ quan hoàn thành kết nối\ntrước ngày 31/12/2026.'

/** The one-recipient template (From G22, To G12), with a line feed inside the signed Content. */
export const UNSIGNED = replace(readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8'), CONTENT, CONTENT_WITH_LF, 'content LF')

/** What `lienthong sign` does: signEdxml with G22's key, certificate and chain. */
export function ourSign (xml: string, canonicalization: Canonicalization = 'exc'): string {
  return signEdxml(xml, { privateKeyPem: KEY, certificatePem: CERT_AND_CHAIN, algorithm: 'rsa-sha256', canonicalization })
}

export const SIGNATURE_BLOCK = /<Signature xmlns="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#">[\s\S]*<\/Signature>/
