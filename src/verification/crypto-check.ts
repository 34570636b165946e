import { SignedXml } from 'xml-crypto'
import type { SignatureShape } from './signature-structure.js'
import { fail } from './verification-failure.js'
import { C14N_ALGORITHMS, ENVELOPED_SIGNATURE } from './algorithms.js'
import { FlatC14n, FlatC14nWithComments, FlatExclusiveC14n, FlatExclusiveC14nWithComments } from './flat-c14n.js'

/** Same output as the library's C14N, a fraction of its peak memory (see flat-c14n.ts). */
export const FLAT_C14N = {
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315': FlatC14n,
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments': FlatC14nWithComments,
  'http://www.w3.org/2001/10/xml-exc-c14n#': FlatExclusiveC14n,
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments': FlatExclusiveC14nWithComments
}

/**
 * security.md step 6: the cryptographic check, with the *validated* certificate passed in.
 *
 * xml-crypto invariants (each one closes a published attack):
 * - `getCertFromKeyInfo: () => null`: the library must never take the key from KeyInfo
 *   (CVE-2024-32962); the key is the certificate whose path we validated.
 * - no `privateKey` (it is a fallback verification key) and never `enableHMAC()`.
 * - a fresh SignedXml per document: signed references accumulate across checks.
 * - the algorithm tables hold only what inspectSignature() already accepted for this document,
 *   so the library cannot be steered to anything else.
 * - a false return is a digest mismatch (content changed), a throw is a bad SignatureValue (or
 *   an algorithm problem): two different reason codes.
 */
export function checkSignatureCryptography (xml: string, shape: SignatureShape, signerPem: string): void {
  const sig = new SignedXml({ publicCert: signerPem, getCertFromKeyInfo: () => null })
  sig.SignatureAlgorithms = only(sig.SignatureAlgorithms, [shape.signatureMethod])
  sig.HashAlgorithms = only(sig.HashAlgorithms, [shape.digestMethod])
  // loadSignature() itself canonicalizes SignedInfo with exclusive C14N when the document uses
  // inclusive C14N, so the C14N table keeps the whole allow-list (already enforced per document).
  sig.CanonicalizationAlgorithms = { ...only(sig.CanonicalizationAlgorithms, [...C14N_ALGORITHMS, ENVELOPED_SIGNATURE]), ...FLAT_C14N }
  sig.loadSignature(shape.signature)
  let valid: boolean
  try {
    valid = sig.checkSignature(xml)
  } catch (err) {
    // Resource exhaustion is not a verdict about the signature: let it surface as an error.
    if (err instanceof RangeError) throw err
    fail('SIGNATURE_INVALID', `the signature value does not verify with the signer certificate (${firstLine(err)})`)
  }
  if (!valid) fail('DIGEST_MISMATCH', 'the digest of the signed content does not match: the document was changed after it was signed')
  // Exactly one reference was allowed and it had to be the document element; the library must
  // agree that exactly one reference was authenticated.
  if (sig.getSignedReferences().length !== 1) fail('SIGNATURE_AMBIGUOUS', 'the signature did not authenticate exactly one reference')
}

function only<T> (table: Record<string, T>, keys: readonly string[]): Record<string, T> {
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(table, k)).map((k) => [k, table[k] as T]))
}

function firstLine (err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 200) ?? ''
}
