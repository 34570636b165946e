/**
 * The two things measured, both starting from the received bytes:
 * - `bare`: what a naive integrator does with xml-crypto alone (decode, parse, find the
 *   signature, check it against a pinned certificate). No policy at all: the baseline.
 * - `full`: the hub's verifyDocument() with the example policy (size cap, strict parse, schema,
 *   signature shape and allow-lists, path validation with CRLs, sender binding, crypto check).
 */
import { DOMParser } from '@xmldom/xmldom'
import { SignedXml } from 'xml-crypto'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { examplePolicy } from '../../test/helpers/example-pki.js'
import { G22 } from './fixtures.js'

export const VARIANTS = ['bare', 'full'] as const
export type Variant = typeof VARIANTS[number]

export type Verify = (bytes: Buffer) => Promise<void>

export function isVariant (value: unknown): value is Variant {
  return VARIANTS.includes(value as Variant)
}

export function bareCheck (bytes: Buffer): void {
  const xml = bytes.toString('utf8')
  const doc = new DOMParser().parseFromString(xml, 'text/xml')
  const sig = new SignedXml({ publicCert: G22.certificatePem, getCertFromKeyInfo: () => null })
  const signature = sig.findSignatures(doc as unknown as Node)[0]
  if (signature == null) throw new Error('bare check: no signature found')
  sig.loadSignature(signature)
  if (!sig.checkSignature(xml)) throw new Error('bare check: checkSignature() returned false')
}

/** Both variants, ready to call; the policy (trust store, registry) is loaded once, up front. */
export async function loadVariants (): Promise<Record<Variant, Verify>> {
  const policy = await examplePolicy()
  return {
    bare: async (bytes) => bareCheck(bytes),
    full: async (bytes) => {
      const verdict = await verifyDocument(bytes, policy)
      if (verdict.verdict !== 'accepted') throw new Error(`full policy: rejected with ${verdict.code}: ${verdict.detail}`)
    }
  }
}
