/**
 * The receipt format, version 1: what each kind of receipt says and in which element order.
 * buildReceipt() writes from this table and readReceipt() reads with it, so what is written is
 * exactly what can be read back; a field added here is added to both.
 */
export const RECEIPT_NS = 'urn:lienthong:receipt:1'
export const RECEIPT_VERSION = '1'
export const RECEIPT_KINDS = ['acceptance', 'delivery', 'failure', 'rejection'] as const
export type ReceiptKind = typeof RECEIPT_KINDS[number]

/** What buildReceipt() takes for a time: a Date or an RFC 3339 string with a time zone. */
export type Timestamp = Date | string

/**
 * Every receipt: its own id and when the hub issued it (both optional only on input). A receipt is
 * issued when the event it attests happens (in the transaction that records it), so `issuedAt` is
 * the time of the acceptance, delivery, failure or rejection.
 */
interface ReceiptHeader<M extends Mode> {
  /** Lower-case UUID; buildReceipt() makes a random one when absent. */
  receiptId?: string
  /** buildReceipt() takes the current time when absent. */
  issuedAt?: M extends 'input' ? Timestamp : string
}

/** 'input': what buildReceipt() takes; 'read': what a receipt reads back as (all text). */
type Mode = 'input' | 'read'

/** A signature-log entry id: a non-negative integer or an identifier string; read back as a string. */
type LogEntryId<M extends Mode> = M extends 'input' ? string | number : string

/** The hub accepted document `hubDocumentId` (bytes with `digestSha256`) from `sender` for `recipients`. */
export interface AcceptanceFields<M extends Mode = 'input'> extends ReceiptHeader<M> {
  kind: 'acceptance'
  hubDocumentId: string
  /** The edXML DocumentId the sender gave it (status messages may have none). */
  edxmlDocumentId?: string
  digestSha256: string
  sender: string
  recipients: string[]
  /** Id of the signature-log entry that recorded the verification. */
  signatureLogEntry: LogEntryId<M>
  /**
   * That entry's entry_hash: whoever holds the receipt can show the entry existed with exactly this
   * content (the chain from it back to genesis), so deleting it (tail truncation) cannot go unseen.
   * Optional only so that receipts issued before it was added still read.
   */
  signatureLogEntryHash?: string
}

/** The document's acceptance entry in the signature log, cited by delivery receipts and failure notices. */
interface AcceptanceEntry<M extends Mode> {
  signatureLogEntry?: LogEntryId<M>
  signatureLogEntryHash?: string
}

/** `recipient` received the document, by push (HTTPS POST answered 2xx) or pull (downloaded). */
export interface DeliveryFields<M extends Mode = 'input'> extends ReceiptHeader<M>, AcceptanceEntry<M> {
  kind: 'delivery'
  hubDocumentId: string
  deliveryId?: string
  edxmlDocumentId?: string
  digestSha256: string
  sender: string
  recipient: string
  method: 'push' | 'pull'
}

/** Delivery of the document to `recipient` was given up (permanent error or retries exhausted). */
export interface FailureFields<M extends Mode = 'input'> extends ReceiptHeader<M>, AcceptanceEntry<M> {
  kind: 'failure'
  hubDocumentId: string
  deliveryId?: string
  edxmlDocumentId?: string
  digestSha256: string
  sender: string
  recipient: string
  reason: string
}

/**
 * The hub refused the bytes with `digestSha256` with reason `code`. `claimedSender` and
 * `edxmlDocumentId` are what the refused document claimed, unverified (free text, possibly absent).
 */
export interface RejectionFields<M extends Mode = 'input'> extends ReceiptHeader<M> {
  kind: 'rejection'
  edxmlDocumentId?: string
  digestSha256: string
  claimedSender?: string
  code: string
  detail: string
  signatureLogEntry?: LogEntryId<M>
  signatureLogEntryHash?: string
}

/** What buildReceipt() / issueReceipt() take. */
export type ReceiptFields = AcceptanceFields | DeliveryFields | FailureFields | RejectionFields

/** A receipt as written and as read back: every header field present, times as ISO 8601 UTC strings. */
export type Receipt = (AcceptanceFields<'read'> | DeliveryFields<'read'> | FailureFields<'read'> | RejectionFields<'read'>) &
{ receiptId: string, issuedAt: string }

/** Value rules. Each is checked when building and again when reading a receipt back. */
export type FieldType = 'uuid' | 'time' | 'digest' | 'agency' | 'agencyList' | 'token' | 'code' | 'method' | 'text'

export interface FieldSpec<K extends string = string> {
  key: K
  element: string
  type: FieldType
  optional?: true
}

type KeysOf<K extends ReceiptKind> = Exclude<keyof Extract<Receipt, { kind: K }>, 'kind'> & string
type Layout = { [K in ReceiptKind]: readonly FieldSpec<KeysOf<K>>[] }

const header = [
  { key: 'receiptId', element: 'ReceiptId', type: 'uuid' },
  { key: 'issuedAt', element: 'IssuedAt', type: 'time' }
] as const

/** Delivery receipts and failure notices cite the document's acceptance entry in the signature log. */
const acceptanceEntry = [
  { key: 'signatureLogEntry', element: 'SignatureLogEntry', type: 'token', optional: true },
  { key: 'signatureLogEntryHash', element: 'SignatureLogEntryHash', type: 'digest', optional: true }
] as const

/** Element order per kind; the list element <Recipients> holds one <Recipient> per recipient. */
export const RECEIPT_LAYOUT: Layout = {
  acceptance: [
    ...header,
    { key: 'hubDocumentId', element: 'HubDocumentId', type: 'uuid' },
    { key: 'edxmlDocumentId', element: 'EdxmlDocumentId', type: 'text', optional: true },
    { key: 'digestSha256', element: 'DigestSha256', type: 'digest' },
    { key: 'sender', element: 'Sender', type: 'agency' },
    { key: 'recipients', element: 'Recipients', type: 'agencyList' },
    { key: 'signatureLogEntry', element: 'SignatureLogEntry', type: 'token' },
    { key: 'signatureLogEntryHash', element: 'SignatureLogEntryHash', type: 'digest', optional: true }
  ],
  delivery: [
    ...header,
    { key: 'hubDocumentId', element: 'HubDocumentId', type: 'uuid' },
    { key: 'deliveryId', element: 'DeliveryId', type: 'uuid', optional: true },
    { key: 'edxmlDocumentId', element: 'EdxmlDocumentId', type: 'text', optional: true },
    { key: 'digestSha256', element: 'DigestSha256', type: 'digest' },
    { key: 'sender', element: 'Sender', type: 'agency' },
    { key: 'recipient', element: 'Recipient', type: 'agency' },
    { key: 'method', element: 'Method', type: 'method' },
    ...acceptanceEntry
  ],
  failure: [
    ...header,
    { key: 'hubDocumentId', element: 'HubDocumentId', type: 'uuid' },
    { key: 'deliveryId', element: 'DeliveryId', type: 'uuid', optional: true },
    { key: 'edxmlDocumentId', element: 'EdxmlDocumentId', type: 'text', optional: true },
    { key: 'digestSha256', element: 'DigestSha256', type: 'digest' },
    { key: 'sender', element: 'Sender', type: 'agency' },
    { key: 'recipient', element: 'Recipient', type: 'agency' },
    { key: 'reason', element: 'Reason', type: 'text' },
    ...acceptanceEntry
  ],
  rejection: [
    ...header,
    { key: 'edxmlDocumentId', element: 'EdxmlDocumentId', type: 'text', optional: true },
    { key: 'digestSha256', element: 'DigestSha256', type: 'digest' },
    { key: 'claimedSender', element: 'ClaimedSender', type: 'text', optional: true },
    { key: 'code', element: 'Code', type: 'code' },
    { key: 'detail', element: 'Detail', type: 'text' },
    { key: 'signatureLogEntry', element: 'SignatureLogEntry', type: 'token', optional: true },
    { key: 'signatureLogEntryHash', element: 'SignatureLogEntryHash', type: 'digest', optional: true }
  ]
}

/** "an acceptance receipt", "a delivery receipt": for messages. */
export function receiptNoun (kind: ReceiptKind): string {
  return `${kind === 'acceptance' ? 'an' : 'a'} ${kind} receipt`
}

export const LIST_ITEM_ELEMENT = 'Recipient'
export const MAX_TEXT_LENGTH = 8192
export const MAX_RECIPIENTS = 1000

/** A receipt that cannot be written or read: a wrong field value or a document that is not a receipt. */
export class ReceiptFormatError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ReceiptFormatError'
  }
}

const PATTERNS: Partial<Record<FieldType, { re: RegExp, means: string }>> = {
  uuid: { re: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, means: 'a lower-case UUID' },
  digest: { re: /^[0-9a-f]{64}$/, means: '64 lower-case hex digits (SHA-256)' },
  // The edXML agency code rule (schemas/edxml-envelope.json, AgencyCode).
  agency: { re: /^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+){0,3}$/, means: 'an agency code (1 to 4 dot-separated groups of ASCII letters and digits)' },
  token: { re: /^[A-Za-z0-9._:-]{1,128}$/, means: 'an identifier of ASCII letters, digits and ._:-' },
  code: { re: /^[A-Z][A-Z0-9_]{0,63}$/, means: 'an upper-case reason code' },
  method: { re: /^(?:push|pull)$/, means: '"push" or "pull"' }
}

// Characters XML 1.0 cannot carry at all, not even escaped (C0 controls other than tab, LF and CR,
// lone surrogates, U+FFFE/U+FFFF): a field holding one could never be read back.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u

/**
 * Checks one scalar value against its rule and returns its text form. Times are written in the one
 * canonical form `Date.toISOString()` gives; reading accepts only that form, so a time read back
 * is the very string that was signed.
 */
export function scalarText (spec: FieldSpec, value: unknown, reading: boolean): string {
  const where = `<${spec.element}>`
  if (spec.type === 'time') return timeText(where, value, reading)
  if (spec.type === 'token' && !reading && typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new ReceiptFormatError(`${where} must be a non-negative integer, not ${value}`)
    return String(value)
  }
  if (typeof value !== 'string') throw new ReceiptFormatError(`${where} must be a string`)
  const pattern = PATTERNS[spec.type]
  if (pattern != null && !pattern.re.test(value)) throw new ReceiptFormatError(`${where} must be ${pattern.means}, not ${JSON.stringify(value.slice(0, 80))}`)
  if (value.length > MAX_TEXT_LENGTH) throw new ReceiptFormatError(`${where} is longer than ${MAX_TEXT_LENGTH} characters`)
  if (NOT_XML_CHAR.test(value)) throw new ReceiptFormatError(`${where} contains a character XML cannot carry (a control character or a lone surrogate)`)
  return value
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/

function timeText (where: string, value: unknown, reading: boolean): string {
  let date: Date
  if (value instanceof Date && !reading) date = value
  else if (typeof value === 'string' && RFC3339.test(value)) date = new Date(value)
  else throw new ReceiptFormatError(`${where} must be ${reading ? 'an ISO 8601 UTC time' : 'a Date or an RFC 3339 time with a time zone'}`)
  if (Number.isNaN(date.getTime())) throw new ReceiptFormatError(`${where} is not a valid time`)
  const text = date.toISOString()
  if (reading && text !== value) throw new ReceiptFormatError(`${where} must be written as ${text}`)
  return text
}
