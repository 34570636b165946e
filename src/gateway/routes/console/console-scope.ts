import type { FastifyError, FastifyInstance } from 'fastify'
import { html } from '../../../console/html.js'
import { layout } from '../../../console/layout.js'
import { HubProblem } from '../../../errors/problem.js'
import { consoleSecurityHeaders, pageContext, sendPage } from './page-context.js'

/** A browser asking for a page (not a script asking for data): it gets HTML answers and redirects. */
function wantsPage (accept: string | undefined): boolean {
  return accept != null && accept.includes('text/html')
}

/**
 * The console scope's own setup (runs before its authentication hook): security headers on every
 * answer, and errors a person can read. A browser without a session is sent to the sign-in page
 * (303); a refused or missing page is an HTML page in the person's language. Anything else, and
 * every answer to a non-browser caller, goes on to the gateway's problem+json handler (401
 * problem+json without a credential, like every other scope: test/gateway/route-auth.test.ts).
 */
export function consoleScopeSetup (scoped: FastifyInstance): void {
  scoped.addHook('onRequest', async (_request, reply) => { consoleSecurityHeaders(reply) })
  scoped.setErrorHandler(async (error: FastifyError | HubProblem, request, reply) => {
    if (!(error instanceof HubProblem) || !wantsPage(request.headers.accept)) throw error
    if (error.code === 'UNAUTHENTICATED' && request.method === 'GET') {
      const next = encodeURIComponent(request.url)
      const ended = request.headers.cookie?.includes('lienthong_session=') === true ? '&ended=1' : ''
      return await reply.code(303).header('location', `/console/login?next=${next}${ended}`).send()
    }
    if (error.code === 'NOT_FOUND' || error.code === 'FORBIDDEN') {
      const page = pageContext(request, reply)
      const message = error.code === 'NOT_FOUND' ? page.t('error.notFound') : page.t('error.forbidden')
      return sendPage(reply, layout(page, page.t('error.title'), 'none', html`<p class="notice bad" role="alert">${message}</p><p><a href="/console">${page.t('error.back')}</a></p>`), error.code === 'NOT_FOUND' ? 404 : 403)
    }
    throw error
  })
}
