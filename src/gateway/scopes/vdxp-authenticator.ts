import type { FastifyRequest } from 'fastify'
import type { Queryable } from '../../db/database.js'
import { findVdxpSystem } from '../../store/vdxp-systems.js'
import { ipAllowed } from '../../vdxp/ip-allow-list.js'
import { openSecret } from '../../vdxp/secret-box.js'
import { hmacMatches, signHeaderHmac, SignedParameters } from '../../vdxp/signed-headers.js'
import { HubProblem } from '../../errors/problem.js'
import type { Authenticator } from './scope.js'

/** A VDXP system that proved itself with its HMAC, and the parameters it signed. */
export interface VdxpCaller {
  systemId: string
  /** The agencies the system serves: `from` must be one of them; their inboxes are its inbox. */
  agencies: string[]
  allowDirectoryChanges: boolean
  params: SignedParameters
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated VDXP system, inside the /vdxp scope (read it with vdxpCallerOf). */
    vdxp: VdxpCaller | undefined
  }
}

// One answer for an unknown system, a wrong HMAC and a refused address: which system ids exist
// is not disclosed. The signature log is not involved: nothing was submitted yet.
const REFUSED = 'the XroadVnpt-systemid, XroadVnpt-sign-header and XroadVnpt-hash-header do not authenticate a VDXP system of this hub'

/**
 * VDXP systems authenticate with `XroadVnpt-systemid` + `XroadVnpt-hash-header`, the HMAC-SHA256
 * of the raw `XroadVnpt-sign-header` bytes keyed with the system's secret. Headers only (it runs
 * in onRequest, before the body). No freshness is demanded of `XroadVnpt-timestamp`: the SDK fixes
 * it once per client object (docs/vdxp-compat.md, "Replay").
 */
export function vdxpAuthenticator (db: Queryable, key: Buffer | undefined): Authenticator<VdxpCaller> {
  return {
    resolve: async (request) => {
      const systemId = single(request, 'xroadvnpt-systemid')
      const signHeader = single(request, 'xroadvnpt-sign-header')
      const hashHeader = single(request, 'xroadvnpt-hash-header')
      if (systemId == null || signHeader == null || hashHeader == null) {
        throw new HubProblem('UNAUTHENTICATED', 'send XroadVnpt-systemid, XroadVnpt-sign-header and XroadVnpt-hash-header (the VDXP SDK does)')
      }
      if (key == null) throw new HubProblem('UNAUTHENTICATED', 'VDXP is not configured on this hub')
      const system = await findVdxpSystem(db, systemId)
      if (system == null || !ipAllowed(system.ip_allow_list, request.ip)) throw new HubProblem('UNAUTHENTICATED', REFUSED)
      // Node hands header values over as latin1 (one char per byte): these are the raw bytes.
      const raw = Buffer.from(signHeader, 'latin1')
      if (!hmacMatches(signHeaderHmac(openSecret(key, systemId, system.secret_sealed), raw), hashHeader)) throw new HubProblem('UNAUTHENTICATED', REFUSED)
      const params = SignedParameters.parse(raw.toString('utf8'))
      // The signed system id must be the one whose secret checked it.
      if (params == null || params.get('systemid') !== systemId) throw new HubProblem('UNAUTHENTICATED', 'XroadVnpt-sign-header must be a JSON object of the signed headers, XroadVnpt-systemid among them')
      return { systemId, agencies: system.agencies, allowDirectoryChanges: system.allow_directory_changes, params }
    },
    credentialKey: (caller) => `vdxp:${caller.systemId}`,
    attach: (request, caller) => { request.vdxp = caller },
    decorate: (app) => { if (!app.hasRequestDecorator('vdxp')) app.decorateRequest('vdxp', undefined) }
  }
}

/** A header sent once (Node joins a repeated custom header with ", ", which no HMAC matches). */
function single (request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** The authenticated VDXP system of a request in the /vdxp scope (absent: a programming error). */
export function vdxpCallerOf (request: FastifyRequest): VdxpCaller {
  if (request.vdxp == null) throw new Error(`no VDXP system on ${request.method} ${request.routeOptions.url ?? request.url}: the route is not in the vdxp scope`)
  return request.vdxp
}
