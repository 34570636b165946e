import {
  CANONICAL_MEMBER_ORDER, CANONICAL_MEMBER_PREFIXES, CANONICAL_SUFFIX, canonicalJson, type CanonicalColumn
} from './signature-log-canonical.js'

/**
 * Rows of `signature_log` read in PostgreSQL's binary COPY format and turned straight into the
 * UTF-8 bytes each entry hash is taken of, `prev_hash + "\n" + canonical(row)`
 * (signature-log-canonical.ts): what lets the chain walk verify a million entries in seconds. No
 * row object, no Date, no string per text column: the columns are selected in the canonical member
 * order, so each value's bytes are appended after the writer's own member prefixes; timestamps
 * and integers travel as 8 bytes, text as its UTF-8.
 *
 * Each value becomes exactly the bytes of the writer's member text (canonicalMember: canonicalJson
 * of the normalised value). Text is copied as is between quotes when it holds no byte JSON must
 * escape (`"`, `\`, below 0x20), which is then what JSON.stringify writes; any other text, every
 * jsonb value and unusual arrays go through canonicalJson itself. test/evidence/signature-log-copy.test.ts
 * compares both over varied rows on both databases. A stored value that the writer can never
 * have produced (a timestamp with microseconds, an infinite one, an integer beyond 2^53, a NULL
 * element or a second dimension in flags) is encoded so that it cannot match any hash the writer
 * computed: the entry is reported as changed (hash-mismatch), never rounded to what was signed.
 */

type Kind = 'int8' | 'timestamptz' | 'text' | 'jsonb' | 'text[]'

const KINDS: Record<CanonicalColumn, Kind> = {
  id: 'int8',
  logged_at: 'timestamptz',
  request_id: 'text',
  claimed_agency: 'text',
  authenticated_agency: 'text',
  edxml_document_id: 'text',
  // As text: PostgreSQL prints a uuid lower-case hyphenated, the canonical form.
  hub_document_id: 'text',
  digest_sha256: 'text',
  size_bytes: 'int8',
  algorithms: 'jsonb',
  cert_subject: 'text',
  cert_issuer: 'text',
  cert_serial: 'text',
  cert_fingerprint: 'text',
  cert_not_before: 'timestamptz',
  cert_not_after: 'timestamptz',
  chain: 'jsonb',
  revocation: 'jsonb',
  verdict: 'text',
  reason_code: 'text',
  detail: 'text',
  flags: 'text[]'
}

// Each column cast to the type the decoder reads: a no-op on the table's own types, so a column
// changed by a later migration is converted or fails loudly instead of being misread.
const SQL_TYPES: Record<Kind, string> = { int8: 'bigint', timestamptz: 'timestamptz', text: 'text', jsonb: 'jsonb', 'text[]': 'text[]' }

/** The SELECT list of the binary COPY: prev_hash, entry_hash, then the canonical members in order. */
export const COPY_SELECT = ['prev_hash::text', 'entry_hash::text', ...CANONICAL_MEMBER_ORDER.map((c) => `${c}::${SQL_TYPES[KINDS[c]]}`)].join(', ')

const MEMBER_KINDS: readonly Kind[] = CANONICAL_MEMBER_ORDER.map((c) => KINDS[c])
const MEMBER_PREFIXES: readonly Buffer[] = CANONICAL_MEMBER_PREFIXES.map((p) => Buffer.from(p, 'utf8'))
const ID_POSITION = CANONICAL_MEMBER_ORDER.indexOf('id')
const FIELDS = CANONICAL_MEMBER_ORDER.length + 2
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
const QUOTE = 0x22
const BACKSLASH = 0x5c
/** 2000-01-01T00:00:00Z (PostgreSQL's epoch) in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000
const TWO_32 = 4_294_967_296
/** The largest |high word| of an int64 whose value is still a safe integer (2^53 = 2^21 * 2^32). */
const SAFE_HIGH = 2_097_151
/** Distinct jsonb values remembered (a log repeats the same algorithms and chains). */
const JSON_CACHE_LIMIT = 10_000

/**
 * One decoded row: its id, stored prev_hash and entry_hash, and the UTF-8 bytes the entry hash is
 * taken of, `prev_hash + "\n" + canonical(row)` (valid only during the call: the buffer is reused
 * for the next row). Return false to stop.
 */
export type EntryCallback = (id: number, prevHash: string, entryHash: string, preimage: Uint8Array) => boolean

/** Decodes a binary COPY of COPY_SELECT, chunk by chunk (a row may straddle chunks). */
export class SignatureLogCopyDecoder {
  private pending: Buffer | undefined
  private headerRead = false
  private trailerRead = false
  private out = Buffer.allocUnsafe(16 * 1024)
  private length = 0
  /** jsonb text (as latin1, one char per byte) -> canonical member bytes. */
  private readonly jsonCache = new Map<string, Buffer>()
  /** Per member position: the last timestamp seen and its member text (certificate dates repeat). */
  private readonly lastMicros: Array<number | bigint | undefined> = []
  private readonly lastTimestamp: string[] = []
  /** Per member position: the last jsonb bytes seen and their member bytes. */
  private readonly lastJson: Array<{ raw: Buffer, member: Buffer } | undefined> = []

  /** Decodes what `chunk` completes; false when onEntry returned false (the rest is left). */
  push (chunk: Buffer, onEntry: EntryCallback): boolean {
    const buf = this.pending == null ? chunk : Buffer.concat([this.pending, chunk])
    this.pending = undefined
    let offset = 0
    if (!this.headerRead) {
      if (buf.length < 19 || buf.length < 19 + buf.readInt32BE(15)) {
        this.pending = buf
        return true
      }
      if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('signature log: not a binary COPY stream')
      offset = 19 + buf.readInt32BE(15)
      this.headerRead = true
    }
    while (offset < buf.length) {
      if (this.trailerRead) throw new Error('signature log: data after the binary COPY trailer')
      const end = rowEnd(buf, offset)
      if (end < 0) break
      if (buf.readInt16BE(offset) === -1) {
        this.trailerRead = true
        offset = end
        continue
      }
      const keepGoing = this.decodeRow(buf, offset, onEntry)
      offset = end
      if (!keepGoing) return false
    }
    // Copied: a view would keep the whole chunk alive.
    if (offset < buf.length) this.pending = Buffer.from(buf.subarray(offset))
    return true
  }

  /** The stream ended: it must have ended with the trailer, on a row boundary. */
  end (): void {
    if (!this.trailerRead || this.pending != null) throw new Error('signature log: the binary COPY stream ended in the middle')
  }

  private decodeRow (buf: Buffer, start: number, onEntry: EntryCallback): boolean {
    const count = buf.readInt16BE(start)
    if (count !== FIELDS) throw new Error(`signature log: a COPY row has ${count} fields, expected ${FIELDS}`)
    let p = start + 2
    const prevLength = buf.readInt32BE(p)
    const prevHash = prevLength < 0 ? '' : buf.toString('utf8', p + 4, p + 4 + prevLength)
    this.length = 0
    this.bytes(buf, p + 4, p + 4 + Math.max(prevLength, 0))
    this.ascii('\n')
    p += 4 + Math.max(prevLength, 0)
    const entryLength = buf.readInt32BE(p)
    const entryHash = entryLength < 0 ? '' : buf.toString('latin1', p + 4, p + 4 + entryLength)
    p += 4 + Math.max(entryLength, 0)
    let id = 0
    for (let i = 0; i < MEMBER_KINDS.length; i++) {
      const length = buf.readInt32BE(p)
      p += 4
      this.bytes(MEMBER_PREFIXES[i] as Buffer, 0, (MEMBER_PREFIXES[i] as Buffer).length)
      const kind = MEMBER_KINDS[i] as Kind
      if (length < 0) this.ascii(kind === 'text[]' ? '[]' : 'null')
      else if (kind === 'text') this.text(buf, p, p + length)
      else if (kind === 'int8') {
        const value = readInt8(buf, p)
        if (i === ID_POSITION) id = Number(value)
        this.ascii(value.toString())
      } else if (kind === 'timestamptz') this.timestamp(buf, p, i)
      else if (kind === 'jsonb') this.json(buf, p, length, i)
      else this.flags(buf, p, p + length)
      p += Math.max(length, 0)
    }
    this.ascii(CANONICAL_SUFFIX)
    return onEntry(id, prevHash, entryHash, this.out.subarray(0, this.length))
  }

  private reserve (n: number): void {
    if (this.length + n <= this.out.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.length + n))
    this.out.copy(bigger, 0, 0, this.length)
    this.out = bigger
  }

  // Byte loops rather than Buffer#copy/#write: most pieces are a few dozen bytes, where the
  // native call costs more than the copy (profiled: the decoder's largest cost otherwise).
  private bytes (from: Buffer, start: number, end: number): void {
    this.reserve(end - start)
    if (end - start > 64) {
      this.length += from.copy(this.out, this.length, start, end)
      return
    }
    const out = this.out
    let n = this.length
    for (let i = start; i < end; i++) out[n++] = from[i] as number
    this.length = n
  }

  private ascii (text: string): void {
    this.reserve(text.length)
    const out = this.out
    let n = this.length
    for (let i = 0; i < text.length; i++) out[n++] = text.charCodeAt(i)
    this.length = n
  }

  private utf8 (text: string): void {
    this.reserve(Buffer.byteLength(text, 'utf8'))
    this.length += this.out.write(text, this.length, 'utf8')
  }

  /** A JSON string of UTF-8 text: its bytes between quotes when none needs escaping. */
  private text (buf: Buffer, start: number, end: number): void {
    this.reserve(end - start + 2)
    const out = this.out
    let n = this.length
    out[n++] = QUOTE
    for (let i = start; i < end; i++) {
      const b = buf[i] as number
      if (b < 0x20 || b === QUOTE || b === BACKSLASH) {
        this.utf8(JSON.stringify(buf.toString('utf8', start, end)))
        return
      }
      out[n++] = b
    }
    out[n++] = QUOTE
    this.length = n
  }

  /**
   * A timestamptz (int64 microseconds since 2000-01-01 UTC): the ISO string with milliseconds. A
   * value with microseconds, or one no JavaScript Date can hold (±infinity, beyond year 275760),
   * gets a form the writer never hashes (it only ever stores Dates).
   */
  private timestamp (buf: Buffer, p: number, position: number): void {
    const micros = readInt8(buf, p)
    if (this.lastMicros[position] !== micros) {
      // Beyond 2^53 microseconds (after year 2255, e.g. a certificate valid until 9999): a bigint.
      const ms = typeof micros === 'number'
        ? (micros % 1000 === 0 ? micros / 1000 + PG_EPOCH_MS : undefined)
        : (micros % 1000n === 0n ? Number(micros / 1000n) + PG_EPOCH_MS : undefined)
      this.lastMicros[position] = micros
      this.lastTimestamp[position] = ms != null && Math.abs(ms) <= 8.64e15
        ? `"${isoMillis(ms)}"`
        : JSON.stringify(`${micros.toString()} microseconds after 2000-01-01T00:00:00Z`)
    }
    this.ascii(this.lastTimestamp[position] as string)
  }

  /** jsonb (binary: a version byte, 1, then the value as jsonb_out writes it): canonicalJson of it. */
  private json (buf: Buffer, p: number, length: number, position: number): void {
    if (buf[p] !== 1) throw new Error(`signature log: jsonb binary format version ${String(buf[p])}`)
    // The same value as in the previous row (usual for algorithms and chains): no string at all.
    const last = this.lastJson[position]
    let member: Buffer | undefined
    if (last != null && last.raw.length === length - 1 && last.raw.compare(buf, p + 1, p + length) === 0) member = last.member
    else {
      const key = buf.toString('latin1', p + 1, p + length)
      member = this.jsonCache.get(key)
      if (member == null) {
        member = Buffer.from(canonicalJson(JSON.parse(buf.toString('utf8', p + 1, p + length))), 'utf8')
        if (this.jsonCache.size >= JSON_CACHE_LIMIT) this.jsonCache.clear()
        this.jsonCache.set(key, member)
      }
      this.lastJson[position] = { raw: Buffer.from(buf.subarray(p + 1, p + length)), member }
    }
    this.bytes(member, 0, member.length)
  }

  /**
   * A text[] (binary: dimensions, has-null flag, element type, per dimension its size and lower
   * bound, then each element's length and bytes) as a JSON array of strings, all the writer
   * stores. A NULL element stays null and a nested array stays nested (the driver's row objects
   * would make them the strings "null" and "a,b"): neither can match a written hash.
   */
  private flags (buf: Buffer, p: number, end: number): void {
    const dimensions = buf.readInt32BE(p)
    if (dimensions === 0) {
      this.ascii('[]')
      return
    }
    const hasNull = buf.readInt32BE(p + 4) !== 0
    const sizes: number[] = []
    let q = p + 12
    for (let d = 0; d < dimensions; d++) {
      sizes.push(buf.readInt32BE(q))
      q += 8
    }
    if (dimensions === 1 && !hasNull) {
      this.ascii('[')
      for (let k = 0; k < (sizes[0] as number); k++) {
        const length = buf.readInt32BE(q)
        q += 4
        if (k > 0) this.ascii(',')
        this.text(buf, q, q + length)
        q += length
      }
      this.ascii(']')
      return
    }
    const read = (level: number): unknown[] => {
      const out: unknown[] = []
      for (let k = 0; k < (sizes[level] as number); k++) {
        if (level + 1 < dimensions) {
          out.push(read(level + 1))
          continue
        }
        const length = buf.readInt32BE(q)
        q += 4
        out.push(length < 0 ? null : buf.toString('utf8', q, q + length))
        q += Math.max(length, 0)
      }
      return out
    }
    this.utf8(canonicalJson(read(0)))
    if (q !== end) throw new Error('signature log: a malformed text[] in a COPY row')
  }
}

/** The offset after the tuple (or trailer) at `offset`, or -1 when the buffer ends inside it. */
function rowEnd (buf: Buffer, offset: number): number {
  if (offset + 2 > buf.length) return -1
  const count = buf.readInt16BE(offset)
  let p = offset + 2
  if (count === -1) return p
  for (let i = 0; i < count; i++) {
    if (p + 4 > buf.length) return -1
    const length = buf.readInt32BE(p)
    p += 4 + (length > 0 ? length : 0)
    if (p > buf.length) return -1
  }
  return p
}

/** A big-endian int64: a number when it is a safe integer, else a bigint. */
function readInt8 (buf: Buffer, p: number): number | bigint {
  const high = buf.readInt32BE(p)
  if (high > SAFE_HIGH || high < -SAFE_HIGH) return buf.readBigInt64BE(p)
  return high * TWO_32 + buf.readUInt32BE(p + 4)
}

const DAY_MS = 86_400_000
const pad2 = (n: number): string => n < 10 ? `0${n}` : String(n)
const pad3 = (n: number): string => n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n)

/**
 * Date#toISOString without a Date, for years 1970..9999 (every logged_at; toISOString otherwise):
 * the days since 1970 to a civil date (H. Hinnant's days_from_civil inverse).
 */
export function isoMillis (ms: number): string {
  if (ms < 0 || ms >= 253_402_300_800_000) return new Date(ms).toISOString()
  const days = Math.floor(ms / DAY_MS)
  let rest = ms - days * DAY_MS
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  const hours = Math.floor(rest / 3_600_000)
  rest -= hours * 3_600_000
  const minutes = Math.floor(rest / 60_000)
  rest -= minutes * 60_000
  const seconds = Math.floor(rest / 1000)
  return `${year}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`
}
