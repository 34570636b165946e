import { randomUUID } from 'node:crypto'
import {
  LIST_ITEM_ELEMENT, MAX_RECIPIENTS, RECEIPT_KINDS, RECEIPT_LAYOUT, RECEIPT_NS, RECEIPT_VERSION, ReceiptFormatError, receiptNoun, scalarText,
  type FieldSpec, type Receipt, type ReceiptFields
} from './format.js'

/**
 * The unsigned receipt XML. Deterministic: the same fields (with `receiptId` and `issuedAt` given)
 * always give the same bytes. Every value is checked against its rule first (ReceiptFormatError),
 * so what is written can always be read back to the very same fields.
 */
export function buildReceipt (fields: ReceiptFields): string {
  const receipt = completeReceipt(fields)
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<Receipt xmlns="${RECEIPT_NS}" kind="${receipt.kind}" version="${RECEIPT_VERSION}">`]
  const values = receipt as unknown as Record<string, unknown>
  for (const spec of RECEIPT_LAYOUT[receipt.kind] as readonly FieldSpec[]) {
    const value = values[spec.key]
    if (spec.type === 'agencyList') {
      lines.push(`  <${spec.element}>`)
      for (const item of value as string[]) lines.push(`    <${LIST_ITEM_ELEMENT}>${escapeText(item)}</${LIST_ITEM_ELEMENT}>`)
      lines.push(`  </${spec.element}>`)
    } else if (value !== undefined) {
      lines.push(`  <${spec.element}>${escapeText(value as string)}</${spec.element}>`)
    }
  }
  // The signature goes after the last field; the closing tag is on the same line as it.
  return lines.join('\n') + '\n</Receipt>\n'
}

/** Fills in receiptId and issuedAt, checks every field and returns the receipt as it will be read back. */
export function completeReceipt (fields: ReceiptFields): Receipt {
  if (!(RECEIPT_KINDS as readonly string[]).includes(fields.kind)) throw new ReceiptFormatError(`unknown receipt kind ${JSON.stringify(fields.kind)}`)
  const input: Record<string, unknown> = { ...fields, receiptId: fields.receiptId ?? randomUUID(), issuedAt: fields.issuedAt ?? new Date() }
  const layout = RECEIPT_LAYOUT[fields.kind] as readonly FieldSpec[]
  const known = new Set(['kind', ...layout.map((s) => s.key)])
  const stray = Object.keys(input).filter((k) => !known.has(k) && input[k] !== undefined)
  if (stray.length > 0) throw new ReceiptFormatError(`${receiptNoun(fields.kind)} has no field ${stray.join(', ')}`)

  const out: Record<string, unknown> = { kind: fields.kind }
  for (const spec of layout) {
    const value = input[spec.key]
    if (value === undefined) {
      if (spec.optional === true) continue
      throw new ReceiptFormatError(`${receiptNoun(fields.kind)} needs ${spec.key} (<${spec.element}>)`)
    }
    out[spec.key] = spec.type === 'agencyList' ? listValue(spec, value) : scalarText(spec, value, false)
  }
  return out as unknown as Receipt
}

function listValue (spec: FieldSpec, value: unknown): string[] {
  if (!Array.isArray(value)) throw new ReceiptFormatError(`<${spec.element}> must be an array`)
  if (value.length > MAX_RECIPIENTS) throw new ReceiptFormatError(`<${spec.element}> holds more than ${MAX_RECIPIENTS} entries`)
  const item: FieldSpec = { key: spec.key, element: LIST_ITEM_ELEMENT, type: 'agency' }
  return value.map((v) => scalarText(item, v, false))
}

/**
 * Escapes element content. `>` is escaped so that `]]>` cannot appear, and CR as a character
 * reference: a literal CR would be turned into LF by every conforming parser (xmlsec1's included)
 * and the receipt would no longer verify there.
 */
export function escapeText (text: string): string {
  return text.replace(/[&<>\r]/g, (c) => ESCAPES[c] as string)
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' }
