import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The VDXP request signature (docs/vdxp-compat.md; the SDK's wire protocol §2): the HMAC-SHA256,
 * keyed with the UTF-8 bytes of the system's secret, of the raw bytes of the
 * `XroadVnpt-sign-header` value, a JSON object whose key order is Java HashMap iteration order.
 * That order cannot be rebuilt, so the bytes are taken as received, never re-serialised.
 */
export function signHeaderHmac (secret: string, rawSignHeader: Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(rawSignHeader).digest('hex')
}

/** Constant-time comparison of the HMAC the client sent (hex, any case) with the expected one. */
export function hmacMatches (expectedHex: string, givenHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'latin1')
  const given = Buffer.from(givenHex.toLowerCase(), 'latin1')
  // timingSafeEqual needs equal lengths; the length of a hex SHA-256 is public anyway.
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * The SDK's `hash-file`: SHA-256 of the file, each byte in lowercase hex WITHOUT zero padding
 * (0x05 prints as "5"), so often shorter than 64 characters.
 */
export function sdkHashFile (bytes: Uint8Array): string {
  return [...createHash('sha256').update(bytes).digest()].map((b) => b.toString(16)).join('')
}

/** The edXML of a sendEdoc body: the SDK appends `\r\n` after the file's bytes. */
export function withoutTrailingCrlf (body: Buffer): Buffer {
  return body.length >= 2 && body[body.length - 2] === 0x0d && body[body.length - 1] === 0x0a ? body.subarray(0, body.length - 2) : body
}

/**
 * The signed parameters: the sign-header's pairs, names without the `XroadVnpt-` prefix. The
 * vendor example writes both `docId` and `docid`, and the SDK keeps every key of earlier calls,
 * so two spellings of one name may both be signed, one of them stale: `get` prefers the exact
 * spelling asked for, `spellings` shows every value (updateStatus refuses when they disagree).
 * Undefined when the header is not a flat JSON object of strings (or numbers: gson writes what
 * the caller gave).
 */
export class SignedParameters {
  private constructor (private readonly pairs: ReadonlyArray<readonly [string, string]>) {}

  static parse (raw: string): SignedParameters | undefined {
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch {
      return undefined
    }
    if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined
    const pairs: Array<[string, string]> = []
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined
      pairs.push([key.replace(/^xroadvnpt-/i, ''), String(value)])
    }
    return new SignedParameters(pairs)
  }

  /** The value signed under exactly `name`, else under another spelling of it. */
  get (name: string): string | undefined {
    return this.pairs.find(([k]) => k === name)?.[1] ?? this.spellings(name)[0]
  }

  /** Every value signed under any spelling of `name` (docId, docid...). */
  spellings (name: string): string[] {
    const lower = name.toLowerCase()
    return this.pairs.filter(([k]) => k.toLowerCase() === lower).map(([, v]) => v)
  }
}
