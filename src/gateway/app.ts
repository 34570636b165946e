import { createHash, randomUUID } from 'node:crypto'
import type { ServerOptions } from 'node:https'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import problemHandler from './plugins/problem-handler.js'
import rawBody from './plugins/raw-body.js'
import authenticate from './plugins/authenticate.js'
import documentRoutes from './routes/documents.js'
import healthRoutes from './routes/health.js'
import inboxRoutes from './routes/inbox.js'
import metricsRoutes from './routes/metrics.js'
import { Problem } from './schemas/problem.js'
import type { HubContext } from './hub-context.js'
import { logSizeRefusal } from '../accept/log-size-refusal.js'

export interface GatewayOptions {
  logger?: FastifyServerOptions['logger']
  /** HTTPS with optional client-certificate verification (requestCert + ca). */
  https?: ServerOptions
}

/**
 * The gateway: external plugins, then our own, then routes (fastify/demo order). Everything it
 * needs comes in through `context`, so tests build it over real stores without listening.
 */
export async function buildGateway (context: HubContext, options: GatewayOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    ...(options.https != null ? { https: options.https } : {}) as Record<string, never>,
    bodyLimit: context.maxBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID()
    },
    requestIdHeader: false,
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false } }
  }) as unknown as FastifyInstance
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
      // The credential, when it checks out, names who tried; an unauthenticated oversize
      // request is logged without an agency (it is refused all the same).
      const agency = await app.requireAgency(request).then((a) => a.agencyCode, () => undefined)
      const declared = request.headers['content-length'] == null ? NaN : Number(request.headers['content-length'])
      const id = await logSizeRefusal(context.db, {
        requestId: request.id,
        ...(Number.isSafeInteger(declared) && declared >= 0 ? { declaredBytes: declared } : {}),
        maxBytes: context.maxBytes,
        ...(agency != null ? { authenticatedAgency: agency } : {})
      })
      return { signatureLogEntry: id }
    }
  })
  await app.register(rateLimit, {
    max: context.rateLimitPerMinute,
    timeWindow: '1 minute',
    // Per credential: the API key (hashed, never kept in clear) or the TLS client certificate;
    // unauthenticated callers share their IP's budget.
    keyGenerator: (request) => {
      const auth = request.headers.authorization
      if (auth != null) return 'key:' + createHash('sha256').update(auth).digest('hex')
      return 'ip:' + request.ip
    },
    errorResponseBuilder: (_request, context) => ({ statusCode: 429, message: `rate limit of ${context.max} requests per ${context.after} exceeded` })
  })
  await app.register(rawBody, { maxBytes: context.maxBytes })
  await app.register(authenticate, { context })
  // Before the routes: its onResponse hook counts every request.
  await app.register(metricsRoutes, { context })
  await app.register(healthRoutes, { context })
  await app.register(documentRoutes, { context })
  await app.register(inboxRoutes, { context })
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger())
  return app
}
