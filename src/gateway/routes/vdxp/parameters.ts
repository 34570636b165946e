import type { VdxpCaller } from '../../scopes/vdxp-authenticator.js'
import { VdxpFailure } from '../../../vdxp/vdxp-answer.js'

/** A signed parameter the operation cannot do without (any spelling of its name: docId, docid). */
export function required (caller: VdxpCaller, name: string): string {
  const value = caller.params.get(name)?.trim()
  if (value == null || value === '') throw new VdxpFailure('MISSING_PARAMETER', `the signed header XroadVnpt-${name} is missing or empty`)
  return value
}

const HUB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * A docId as this hub issues them (a UUID); anything else names nothing here. `unambiguous`: when
 * the SDK's leftover headers carry two spellings (docId, docid) with different values, refuse
 * rather than guess (updateStatus must not acknowledge the wrong document).
 */
export function hubId (caller: VdxpCaller, name = 'docId', unambiguous = false): string {
  if (unambiguous && new Set(caller.params.spellings(name).map((v) => v.trim().toLowerCase())).size > 1) {
    throw new VdxpFailure('BAD_PARAMETER', `XroadVnpt-${name} is signed in several spellings with different values (${caller.params.spellings(name).join(', ')}); send one`)
  }
  const value = required(caller, name)
  if (!HUB_ID.test(value)) throw new VdxpFailure('BAD_PARAMETER', `XroadVnpt-${name} must be a document id issued by this hub (a UUID)`)
  return value.toLowerCase()
}

/** messagetype as a lienthong kind; undefined when absent (both kinds). */
export function kindOf (caller: VdxpCaller): 'document' | 'status' | undefined {
  const type = caller.params.get('messagetype')?.trim().toLowerCase()
  if (type == null || type === '') return undefined
  if (type === 'edoc') return 'document'
  if (type === 'status') return 'status'
  throw new VdxpFailure('BAD_PARAMETER', 'XroadVnpt-messagetype must be edoc or status')
}

/** The VDXP messageType of a lienthong kind. */
export const messageType = (kind: 'document' | 'status'): string => kind === 'status' ? 'status' : 'edoc'
