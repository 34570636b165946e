/**
 * Algorithm allow-lists (security.md step 2-3). Anything not listed is refused, including
 * HMAC (key confusion: an attacker "signs" with the public certificate as the HMAC key), MD5,
 * XPath/XSLT/Base64 transforms and external references.
 */
export const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'

export const C14N_ALGORITHMS = new Set([
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments'
])

export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
export const RSA_SHA512 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512'
export const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1'
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256'
export const SHA512 = 'http://www.w3.org/2001/04/xmlenc#sha512'

export const STRONG_SIGNATURE_ALGORITHMS = new Set([RSA_SHA256, RSA_SHA512])
export const STRONG_DIGEST_ALGORITHMS = new Set([SHA256, SHA512])
/** Accepted only for agencies whose registry entry says allowWeakAlgorithms, and flagged `weak`. */
export const WEAK_SIGNATURE_ALGORITHMS = new Set([RSA_SHA1])
export const WEAK_DIGEST_ALGORITHMS = new Set([SHA1])

/** Santuario's secure-validation bound is 5; ours is tighter: enveloped + one C14N. */
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
