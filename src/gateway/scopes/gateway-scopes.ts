import documentRoutes from '../routes/documents.js'
import healthRoutes from '../routes/health.js'
import directoryRoute from '../routes/directory.js'
import inboxRoutes from '../routes/inbox.js'
import metricsRoute from '../routes/metrics.js'
import openApiRoute from '../routes/openapi.js'
import apiDocsRoutes from '../routes/api-docs.js'
import type { HubContext } from '../hub-context.js'
import sendEdocRoute from '../routes/vdxp/send-edoc.js'
import inboxOps from '../routes/vdxp/inbox-ops.js'
import sentOps from '../routes/vdxp/sent-ops.js'
import directoryOps from '../routes/vdxp/directory-ops.js'
import { vdxpScopeSetup } from '../plugins/vdxp-answers.js'
import { agencyAuthenticator } from './agency-authenticator.js'
import { loginRoute, sessionRoutes } from '../routes/api/session.js'
import myTokenRoutes from '../routes/api/my-tokens.js'
import adminUserRoutes from '../routes/api/admin-users.js'
import adminAuditRoutes from '../routes/api/admin-audit.js'
import adminAgencyRoutes from '../routes/api/admin-agencies.js'
import adminTrustRoutes from '../routes/api/admin-trust.js'
import signatureLogRoutes from '../routes/api/signature-log.js'
import trackingRoutes from '../routes/api/tracking.js'
import { principalAuthenticator } from './principal-authenticator.js'
import { consoleAuthenticator } from './console-authenticator.js'
import consoleLoginPages from '../routes/console/login-pages.js'
import consolePages from '../routes/console/console-pages.js'
import signatureLogExport from '../routes/console/signature-log-export.js'
import integrityPage from '../routes/console/integrity-page.js'
import adminAgencyPages from '../routes/console/admin-agency-pages.js'
import adminTrustPage from '../routes/console/admin-trust-page.js'
import adminUserPages from '../routes/console/admin-user-pages.js'
import adminAuditPage from '../routes/console/admin-audit-page.js'
import { consoleScopeSetup } from '../routes/console/console-scope.js'
import { vdxpAuthenticator } from './vdxp-authenticator.js'
import { peerAuthenticator } from './peer-authenticator.js'
import forwardedDocumentRoutes from '../routes/peer/forwarded-documents.js'
import { authenticatedScope, publicScope, type GatewayScope } from './scope.js'

/**
 * The gateway's route families and who may enter each. A new family (VDXP with HMAC, the console
 * with a session cookie, admin) is one more entry with its own authenticator; a route added to
 * an existing family is authenticated by its scope without a word in its handler.
 */
export function gatewayScopes (context: HubContext): GatewayScope[] {
  const metricsServed = context.metrics != null && context.exposeMetrics !== false
  return [
    publicScope({ name: 'public', routes: [healthRoutes, openApiRoute, apiDocsRoutes, directoryRoute, ...(metricsServed ? [metricsRoute] : [])] }),
    authenticatedScope({ name: 'v1', prefix: '/v1', authenticator: agencyAuthenticator(context.db), routes: [documentRoutes, inboxRoutes] }),
    // The national axis protocol for existing agency software (docs/vdxp-compat.md): its own
    // HMAC credential and its own answer format, errors included.
    authenticatedScope({
      name: 'vdxp',
      prefix: '/vdxp',
      authenticator: vdxpAuthenticator(context.db, context.vdxpKey),
      setup: vdxpScopeSetup,
      routes: [sendEdocRoute, inboxOps, sentOps, directoryOps]
    }),
    // People (clerks, auditors, admins; src/domain/principal.ts): the console's session cookie
    // or a personal API token. Signing in has no credential yet: its own public scope.
    publicScope({ name: 'api-login', prefix: '/api/session', routes: [loginRoute] }),
    authenticatedScope({
      name: 'api',
      prefix: '/api',
      authenticator: principalAuthenticator(context.db, context.sessions),
      routes: [sessionRoutes, myTokenRoutes, adminUserRoutes, adminAuditRoutes, adminAgencyRoutes, adminTrustRoutes, signatureLogRoutes, trackingRoutes]
    }),
    // The web console (docs/console.md): server-rendered pages with the session cookie; its
    // sign-in form and stylesheet are public.
    publicScope({ name: 'console-public', routes: [consoleLoginPages] }),
    authenticatedScope({
      name: 'console',
      prefix: '/console',
      authenticator: consoleAuthenticator(context.db, context.sessions),
      setup: consoleScopeSetup,
      routes: [consolePages, signatureLogExport, integrityPage, adminAgencyPages, adminTrustPage, adminUserPages, adminAuditPage]
    }),
    // Other lienthong hubs forwarding documents and statuses (issue 13): mutual TLS, pinned per peer.
    authenticatedScope({ name: 'peer', prefix: '/peer', authenticator: peerAuthenticator(context.peers), routes: [forwardedDocumentRoutes] })
  ]
}

/** Unknown routes outside every prefix ask for the agency credential first (401, then 404). */
export const UNKNOWN_ROUTES_SCOPE = 'v1'
