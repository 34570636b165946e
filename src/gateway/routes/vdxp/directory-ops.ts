import type { FastifyInstance } from 'fastify'
import { agencyExistsIgnoringCase } from '../../../store/agencies.js'
import { deleteUnit, directoryUnits, registerUnit } from '../../../store/vdxp-directory.js'
import { ok, VdxpFailure } from '../../../vdxp/vdxp-answer.js'
import { sendVdxp } from '../../plugins/vdxp-answers.js'
import { HubProblem } from '../../../errors/problem.js'
import { vdxpCallerOf, type VdxpCaller } from '../../scopes/vdxp-authenticator.js'
import type { HubContext } from '../../hub-context.js'
import { isPlainReason } from '../inbox.js'
import { required } from './parameters.js'

const AGENCY_CODE = /^[A-Za-z0-9.]{1,50}$/

const optionalText = (value: unknown, name: string, max: number): string | undefined => {
  if (value == null || value === '') return undefined
  if (typeof value !== 'string' || value.length > max || !isPlainReason(value) || /[\t\r\n]/.test(value)) throw new VdxpFailure('BAD_PARAMETER', `${name} must be text of at most ${max} characters`)
  return value
}

const mayChange = (caller: VdxpCaller): void => {
  if (!caller.allowDirectoryChanges) throw new VdxpFailure('DIRECTORY_CHANGES_FORBIDDEN', `system ${caller.systemId} may not change the directory (lienthong vdxp-system add --allow-directory-changes)`, 403)
}

/**
 * The agency directory: the registry's agencies (who exchange documents here) and the units
 * systems allowed to change the directory registered with registerAgency (listed, but exchanging
 * nothing until the registry file lists them with their certificates).
 */
export default async function directoryOps (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context

  app.post('/getAgenciesList', async (_request, reply) => {
    const units = await directoryUnits(ctx.db, false)
    return await sendVdxp(reply, ok({
      data: units.map((u) => ({ id: u.code, code: u.code, name: u.name, ...(u.parentCode != null ? { pid: u.parentCode } : {}), ...(u.mail != null ? { mail: u.mail } : {}) }))
    }))
  })

  // `level` (QĐ 20 administrative level) is accepted and not used: the registry has no levels.
  app.post('/getAgenciesListQD20', async (_request, reply) => {
    const units = await directoryUnits(ctx.db, false)
    return await sendVdxp(reply, ok({
      data: units.map((u) => ({ id: u.code, code: u.code, name: u.name, code102: u.code, ...(u.mail != null ? { mail: u.mail } : {}) }))
    }))
  })

  app.post('/getSynchronizeUnit', async (_request, reply) => {
    const units = await directoryUnits(ctx.db, true)
    return await sendVdxp(reply, ok({
      data: units.map((u) => ({
        id: u.code,
        code: u.code,
        name: u.name,
        ...(u.parentCode != null ? { pid: u.parentCode } : {}),
        ...(u.mail != null ? { mail: u.mail } : {}),
        modifyDate: u.modifiedAt.toISOString(),
        version: u.version,
        deleted: u.deleted,
        isAgency: u.inRegistry
      }))
    }))
  })

  app.post('/registerAgency', async (request, reply) => {
    const caller = vdxpCallerOf(request)
    mayChange(caller)
    const body = request.body as Record<string, unknown> | undefined
    if (body == null || typeof body !== 'object' || Array.isArray(body)) throw new VdxpFailure('BAD_PARAMETER', 'the body must be the unit as a JSON object {code, name, pcode, mail, mobile, fax}')
    const code = body.code
    if (typeof code !== 'string' || !AGENCY_CODE.test(code)) throw new VdxpFailure('BAD_PARAMETER', 'code must be an agency code (letters, digits and dots)')
    const name = optionalText(body.name, 'name', 500)
    if (name == null) throw new VdxpFailure('MISSING_PARAMETER', 'name is required')
    if (await agencyExistsIgnoringCase(ctx.db, code)) throw new VdxpFailure('AGENCY_IN_REGISTRY', `${code} is (up to letter case) in the hub's registry, which only the operator changes`, 409)
    const registered = await registerUnit(ctx.db, {
      code,
      parentCode: optionalText(body.pcode, 'pcode', 50),
      name,
      mail: optionalText(body.mail, 'mail', 200),
      mobile: optionalText(body.mobile, 'mobile', 50),
      fax: optionalText(body.fax, 'fax', 50),
      registeredBy: caller.systemId
    })
    if (!registered) throw new HubProblem('FORBIDDEN', `unit ${code} was registered by another system; only it or the hub's operator may change it`)
    return await sendVdxp(reply, ok())
  })

  app.post('/deleteAgency', async (request, reply) => {
    const caller = vdxpCallerOf(request)
    mayChange(caller)
    const code = required(caller, 'AgencyCode')
    if (await agencyExistsIgnoringCase(ctx.db, code)) throw new VdxpFailure('AGENCY_IN_REGISTRY', `${code} is (up to letter case) in the hub's registry, which only the operator changes`, 409)
    if (!(await deleteUnit(ctx.db, code, caller.systemId))) throw new HubProblem('NOT_FOUND', `no unit ${code} registered through VDXP by ${caller.systemId}`)
    return await sendVdxp(reply, ok())
  })
}
