/**
 * Strict base64 (RFC 4648 §4) for SignatureValue, DigestValue and X509Certificate: only the
 * alphabet, canonical padding and XML whitespace between groups. Node's decoder skips anything
 * it does not understand (quotes, NUL, U+2028), so the same element would decode differently
 * here and in a conforming verifier; a value that is not canonical base64 is refused instead.
 * Returns undefined when `text` is not such a value.
 */
export function decodeBase64Strict (text: string): Buffer | undefined {
  const compact = text.replace(/[ \t\r\n]+/g, '')
  if (compact.length === 0 || compact.length % 4 !== 0) return undefined
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined
  const bytes = Buffer.from(compact, 'base64')
  // Non-zero padding bits ("QQ==" vs "QR==") decode to the same bytes: refuse the variants.
  if (bytes.toString('base64') !== compact) return undefined
  return bytes
}
