/**
 * XML 1.0 (fifth edition) name characters, decided on UTF-8 bytes: ASCII through a table, the
 * rest by code point range (productions [4] NameStartChar and [4a] NameChar).
 */

/** 1 = NameStartChar, 2 = NameChar only, 0 = neither (ASCII; the colon is handled by the caller). */
export const ASCII_NAME = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/[A-Za-z_:]/.test(ch)) ASCII_NAME[c] = 1
  else if (/[0-9.-]/.test(ch)) ASCII_NAME[c] = 2
}

export function isNameStartCodePoint (cp: number): boolean {
  return (cp >= 0xc0 && cp <= 0xd6) || (cp >= 0xd8 && cp <= 0xf6) || (cp >= 0xf8 && cp <= 0x2ff) ||
    (cp >= 0x370 && cp <= 0x37d) || (cp >= 0x37f && cp <= 0x1fff) || (cp >= 0x200c && cp <= 0x200d) ||
    (cp >= 0x2070 && cp <= 0x218f) || (cp >= 0x2c00 && cp <= 0x2fef) || (cp >= 0x3001 && cp <= 0xd7ff) ||
    (cp >= 0xf900 && cp <= 0xfdcf) || (cp >= 0xfdf0 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0xeffff)
}

export function isNameCodePoint (cp: number): boolean {
  return isNameStartCodePoint(cp) || cp === 0xb7 || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x203f && cp <= 0x2040)
}

/** XML 1.0 Char [2] (a code point from a character reference). */
export function isXmlChar (cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
}

/**
 * The code point of the (already validated) UTF-8 sequence starting at `i`, and its length in
 * the upper bits: `cp | (length << 21)`.
 */
export function decodeUtf8At (b: Uint8Array, i: number): number {
  const c = b[i] as number
  if (c < 0x80) return c | (1 << 21)
  if (c < 0xe0) return (((c & 0x1f) << 6) | ((b[i + 1] as number) & 0x3f)) | (2 << 21)
  if (c < 0xf0) return (((c & 0x0f) << 12) | (((b[i + 1] as number) & 0x3f) << 6) | ((b[i + 2] as number) & 0x3f)) | (3 << 21)
  return (((c & 0x07) << 18) | (((b[i + 1] as number) & 0x3f) << 12) | (((b[i + 2] as number) & 0x3f) << 6) | ((b[i + 3] as number) & 0x3f)) + (4 << 21)
}
