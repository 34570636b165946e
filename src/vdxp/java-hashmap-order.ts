/**
 * The iteration order of a java.util.HashMap<String, String> into which `keys` were put in this
 * order: by bucket (String.hashCode spread by `h ^ (h >>> 16)`, masked by the table size, which
 * starts at 16 and doubles past a 3/4 load), then insertion order within a bucket (no
 * treeification at these sizes). The official SDK lists its signed headers in this order
 * (shared/vdxp-protocol.md §2); our client reproduces it so an axis that, unlike lienthong,
 * rebuilds the sign-header instead of hashing the raw bytes still computes the same HMAC.
 */
export function javaHashMapOrder (keys: readonly string[]): string[] {
  let size = 16
  while (keys.length > size * 0.75) size *= 2
  const bucket = (key: string): number => {
    const h = javaStringHash(key)
    return (h ^ (h >>> 16)) & (size - 1)
  }
  return keys
    .map((key, index) => ({ key, index, bucket: bucket(key) }))
    .sort((a, b) => a.bucket - b.bucket || a.index - b.index)
    .map((e) => e.key)
}

/** Java's String.hashCode: over UTF-16 code units, with 32-bit wrap-around. */
function javaStringHash (text: string): number {
  let h = 0
  for (let i = 0; i < text.length; i++) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0
  return h
}
