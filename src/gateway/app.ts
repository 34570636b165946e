import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { ServerOptions } from 'node:https'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import problemHandler from './plugins/problem-handler.js'
import rawBody from './plugins/raw-body.js'
import requestMetrics from './plugins/request-metrics.js'
import { gatewayScopes, UNKNOWN_ROUTES_SCOPE } from './scopes/gateway-scopes.js'
import { registerScopes } from './scopes/register-scopes.js'
import { guardRouteScopes } from './scopes/route-table.js'
import type { GatewayScope } from './scopes/scope.js'
import { Problem } from './schemas/problem.js'
import type { GatewayTimeouts, HubContext } from './hub-context.js'
import { logSizeRefusal } from '../accept/log-size-refusal.js'
import { problemBody, type ProblemCode } from '../errors/problem.js'
import { InFlightBudget } from './limits/in-flight-budget.js'
import { assertNoNulText } from './limits/nul-text.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The client's own X-Request-Id, when it is short and plain; kept beside the hub's id (logs, answer header). */
    clientRequestId: string | undefined
  }
}

/** Slow-client timeouts when the context does not say (LIENTHONG_*_TIMEOUT_MS, docs/gateway.md). */
export const DEFAULT_TIMEOUTS: GatewayTimeouts = { headersMs: 10_000, requestMs: 300_000, bodyIdleMs: 30_000, keepAliveMs: 72_000 }

const ANY_CASE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The scopes of people (gateway-scopes.ts): sign-in, the /api of accounts, tracking and admin, the console. */
const PEOPLE_SCOPES = new Set(['api-login', 'api', 'console-public', 'console'])

/** A client's X-Request-Id is kept (beside the hub's own) only when it matches this. */
export const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

export interface GatewayOptions {
  logger?: FastifyServerOptions['logger']
  /** HTTPS with optional client-certificate verification (requestCert + ca). */
  https?: ServerOptions
  /** The route families and their authenticators; default gatewayScopes(context). */
  scopes?: GatewayScope[]
}

/**
 * The gateway: external plugins, then our own, then the routes, each in its scope
 * (scopes/gateway-scopes.ts: who may enter which prefix). Everything it needs comes in through
 * `context`, so tests build it over real stores without listening.
 */
export async function buildGateway (context: HubContext, options: GatewayOptions = {}): Promise<FastifyInstance> {
  const timeouts: GatewayTimeouts = { ...DEFAULT_TIMEOUTS, ...context.timeouts }
  // Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval (default
  // 30 s): check often enough for the configured timeouts to hold to within a quarter.
  const serverTimeouts = {
    headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
    requestTimeout: timeouts.requestMs,
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(Math.min(timeouts.headersMs, timeouts.requestMs) / 4)))
  }
  const app = Fastify({
    logger: options.logger ?? false,
    ...(options.https != null ? { https: { ...serverTimeouts, ...options.https } } : { http: serverTimeouts }) as unknown as Record<string, never>,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    bodyLimit: context.maxBytes,
    // Request ids are the hub's own, never the client's (they end up in the signature log).
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    trustProxy: false,
    clientErrorHandler: clientError,
    ajv: { customOptions: { removeAdditional: false } }
  }) as unknown as FastifyInstance
  // First: every route registered from here on is recorded, and one outside a scope fails startup.
  guardRouteScopes(app)
  app.decorateRequest('clientRequestId', undefined)
  app.addHook('onRequest', async (request, reply) => {
    const given = request.headers['x-request-id']
    if (typeof given === 'string' && CLIENT_REQUEST_ID.test(given)) {
      request.clientRequestId = given
      request.log = request.log.child({ clientRequestId: given })
      reply.header('x-client-request-id', given)
    }
  })
  app.addHook('onSend', async (request, reply) => { reply.header('x-request-id', request.id) })

  await app.register(swagger, {
    openapi: {
      info: { title: 'lienthong hub API', version: '1', description: 'Inter-agency edXML document exchange' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }]
    }
  })
  app.addSchema(Problem)
  await app.register(problemHandler, {
    onDocumentTooLarge: async (request) => {
      context.metrics?.documentRejected('PAYLOAD_TOO_LARGE')
      // Only authenticated attempts are evidence. Authentication runs before the body is
      // considered, so an oversize request without a credential never gets here (401); should
      // one, it is refused without a log entry.
      const agency = request.agency?.agencyCode
      if (agency == null) return {}
      const declared = request.headers['content-length'] == null ? NaN : Number(request.headers['content-length'])
      const id = await logSizeRefusal(context.db, {
        requestId: request.id,
        ...(Number.isSafeInteger(declared) && declared >= 0 ? { declaredBytes: declared } : {}),
        maxBytes: context.maxBytes,
        authenticatedAgency: agency
      })
      return { signatureLogEntry: id }
    }
  })
  await app.register(rateLimit, {
    max: context.rateLimitPerMinute,
    timeWindow: '1 minute',
    // After authentication (the scopes' onRequest hooks), before the body is read: per resolved
    // credential, however the client spells its Authorization header. Failed authentications
    // have their own budget per client address (scopes/register-scopes.ts).
    hook: 'preParsing',
    keyGenerator: (request) => request.credential != null ? `credential:${request.credential}` : `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) => ({ statusCode: 429, message: `rate limit of ${context.max} requests per ${context.after} exceeded` })
  })
  const inFlight = context.inFlightBytes ?? { total: 4 * context.maxBytes, perCredential: 2 * context.maxBytes }
  await app.register(rawBody, { maxBytes: context.maxBytes, bodyIdleMs: timeouts.bodyIdleMs, budget: new InFlightBudget(inFlight.total, inFlight.perCredential) })
  // Before the routes: its onResponse hook counts every request.
  await app.register(requestMetrics, { context })
  // Hub ids in a path are taken in any case and handled in the canonical lower case the hub
  // issued: PostgreSQL compares uuids case-insensitively but BullMQ job ids are plain strings, so
  // an upper-case delivery id would otherwise make a second job for one delivery (outsider
  // review, finding A5). The schemas then accept lower case only (schemas/hub-id.ts).
  app.addHook('preValidation', async (request) => {
    const params = request.params as Record<string, unknown> | undefined
    if (params == null) return
    for (const [name, value] of Object.entries(params)) {
      if (typeof value === 'string' && ANY_CASE_UUID.test(value)) params[name] = value.toLowerCase()
    }
  })
  // Before the schemas and every handler of the people scopes: text with NUL is a 400, not a
  // failed query (limits/nul-text.ts). The agency protocols keep their own answers for it
  // (/vdxp answers in its own format, /v1 bodies are bytes).
  app.addHook('preValidation', async (request) => {
    if (PEOPLE_SCOPES.has(String(request.routeOptions.config?.scope))) assertNoNulText(request)
  })
  await registerScopes(app, { context, scopes: options.scopes ?? gatewayScopes(context), unknownRoutes: UNKNOWN_ROUTES_SCOPE })
  // Node answers `Expect: 100-continue` with 100 Continue before any hook runs, inviting an
  // unauthenticated caller to send its body. With a checkContinue listener it does not: the
  // request goes to Fastify as any other, and the scope's authentication sends 100 Continue once
  // the caller is known (register-scopes.ts); public routes and refusals never send it.
  app.server.on('checkContinue', (req, res) => { app.server.emit('request', req, res) })
  return app
}

/**
 * Errors Node raises before a request reaches Fastify (headers not received within
 * headersTimeout, the whole request not within requestTimeout, headers too large, unparsable
 * HTTP): problem+json when no answer is under way, then the connection is closed.
 */
function clientError (this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  let code: ProblemCode = 'BAD_REQUEST'
  let detail = 'the request is not valid HTTP'
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'REQUEST_TIMEOUT'
    detail = 'the request was not received in time (LIENTHONG_HEADERS_TIMEOUT_MS, LIENTHONG_REQUEST_TIMEOUT_MS)'
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    code = 'HEADERS_TOO_LARGE'
    detail = 'the request headers are larger than the hub accepts'
  }
  this.log.debug({ err }, 'client error')
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && answering == null) {
    const body = JSON.stringify(problemBody(code, detail))
    socket.write(`HTTP/1.1 ${problemBody(code, detail).status} ${code.replaceAll('_', ' ')}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}
