import { PROBLEM_CATALOGUE, VDXP_CATALOGUE, type VdxpRule } from './error-catalogue.js'
import type { ProblemCode } from '../errors/problem.js'

/**
 * A VDXP answer body: always `status`, `ErrorCode` and `ErrorDesc`; list items leave out absent
 * fields (a JSON null inside a list item makes the SDK drop the whole list).
 */
export type VdxpBody = { status: 'OK' | 'FAIL', ErrorCode: string, ErrorDesc: string } & Record<string, unknown>

export function ok (extra: Record<string, unknown> = {}): VdxpBody {
  return { status: 'OK', ErrorCode: '0', ErrorDesc: 'Thành công', ...extra }
}

export function failForProblem (code: ProblemCode, extra: Record<string, unknown> = {}): VdxpBody {
  const entry = PROBLEM_CATALOGUE[code]
  return { status: 'FAIL', ErrorCode: entry.errorCode, ErrorDesc: entry.desc, code, ...extra }
}

export function failForRule (rule: VdxpRule, extra: Record<string, unknown> = {}): VdxpBody {
  const entry = VDXP_CATALOGUE[rule]
  return { status: 'FAIL', ErrorCode: entry.errorCode, ErrorDesc: entry.desc, code: `VDXP_${rule}`, ...extra }
}

/**
 * JSON with every non-ASCII character escaped as \uXXXX: the SDK decodes sendEdoc answers as
 * US-ASCII (Vietnamese would arrive mangled); escaping every /vdxp answer keeps one encoder.
 */
export function vdxpJson (body: unknown): string {
  return JSON.stringify(body, (_key, value: unknown) => value === null ? undefined : value)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** A VDXP-only refusal (not a lienthong problem code): its HTTP status and catalogue entry. */
export class VdxpFailure extends Error {
  constructor (readonly rule: VdxpRule, readonly detail: string, readonly status = 400) {
    super(detail)
    this.name = 'VdxpFailure'
  }
}
