/**
 * Algorithm allow-lists (security.md step 2-3), defined with the verifier in src/xmldsig/.
 * Anything not listed is refused, including HMAC (key confusion: an attacker "signs" with the
 * public certificate as the HMAC key), MD5, XPath/XSLT/Base64 transforms and external references.
 */
import { C14N_METHODS } from '../xmldsig/c14n.js'

export {
  ENVELOPED_SIGNATURE, RSA_SHA1, RSA_SHA256, RSA_SHA512, SHA1, SHA256, SHA512,
  STRONG_SIGNATURE_ALGORITHMS, STRONG_DIGEST_ALGORITHMS, WEAK_SIGNATURE_ALGORITHMS, WEAK_DIGEST_ALGORITHMS
} from '../xmldsig/signature-profile.js'

export const C14N_ALGORITHMS: ReadonlySet<string> = C14N_METHODS

/** enveloped-signature, then one C14N. */
export const MAX_TRANSFORMS = 2

/** Short names for logs and the CLI. */
export function shortAlgorithmName (uri: string | undefined): string | undefined {
  if (uri == null) return undefined
  const hash = uri.lastIndexOf('#')
  const tail = hash >= 0 ? uri.slice(hash + 1) : uri
  if (uri.includes('xml-exc-c14n')) return tail === 'WithComments' ? 'exc-c14n-with-comments' : 'exc-c14n'
  if (uri.includes('xml-c14n')) return tail === 'WithComments' ? 'c14n-with-comments' : 'c14n'
  return tail
}
