import type { FastifyInstance } from 'fastify'
import swaggerUi from '@fastify/swagger-ui'

/**
 * The one <style> element Swagger UI's bundle (6.1.3's swagger-ui 5) renders itself, allowed by
 * its hash only (a CSP hash allows exactly that text, unlike 'unsafe-inline'). Another version
 * that renders another style shows up as a CSP violation in test/console/admin-pages.test.ts.
 */
const SWAGGER_UI_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"

/**
 * /docs's own Content-Security-Policy. Swagger UI's page loads its bundle, preset and initializer
 * as files from /docs/static (no inline script: script-src 'self' holds as on the console). Its
 * React components set some styles through the DOM, which 'self' allows. The differences from
 * the console's policy: the hash of Swagger UI's own style element, and `connect-src 'self'`,
 * spelled out because "try it out" calls the hub's own API from the page (and nothing else: no
 * validator, no CDN, no telemetry).
 */
export const DOCS_CSP = `default-src 'self'; script-src 'self'; style-src 'self' ${SWAGGER_UI_STYLE}; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`

/**
 * GET /docs: an interactive reference of the API (@fastify/swagger-ui over the OpenAPI document
 * that @fastify/swagger builds from the route schemas, the same as /openapi.json). Every asset is
 * served by the hub from the package's files: it works without internet, and a hub never makes a
 * browser fetch code from elsewhere. "Try it out" sends requests from the reader's browser with
 * the credential typed into "Authorize" (an API key or a personal token, docs/accounts.md).
 */
export default async function apiDocsRoutes (app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    // No validator.swagger.io badge (an outside request per page view); models collapsed: the
    // page lists the routes by tag first.
    validatorUrl: false,
    uiConfig: { docExpansion: 'list', deepLinking: true, defaultModelsExpandDepth: 0, tryItOutEnabled: false, persistAuthorization: false },
    uiHooks: {
      onRequest: (_request, reply, done) => {
        reply.header('x-content-type-options', 'nosniff')
        reply.header('referrer-policy', 'same-origin')
        reply.header('x-frame-options', 'DENY')
        done()
      }
    }
  })
}
