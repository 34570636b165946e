import type { FastifyInstance } from 'fastify'
import { CONSOLE_CSS, CONSOLE_ICON_SVG } from '../../../console/assets.js'
import { html } from '../../../console/html.js'
import type { MessageKey } from '../../../console/i18n/messages.js'
import { layout } from '../../../console/layout.js'
import { HubProblem } from '../../../errors/problem.js'
import type { HubContext } from '../../hub-context.js'
import { sameOrigin } from '../../scopes/principal-authenticator.js'
import { DEFAULT_SESSION_TIMES } from '../../scopes/principal-authenticator.js'
import { sessionCookie, signIn } from '../api/session.js'
import { consoleSecurityHeaders, formParser, pageContext, sendPage } from './page-context.js'

const PROBLEM_MESSAGES: Partial<Record<string, MessageKey>> = {
  UNAUTHENTICATED: 'login.wrong',
  BUSY: 'login.busy',
  RATE_LIMITED: 'login.refused',
  FORBIDDEN: 'login.refused'
}

/** Where to go after signing in: a console path only (never another site: open redirect). */
function safeNext (next: unknown): string {
  return typeof next === 'string' && /^\/console(\/[A-Za-z0-9._~\-/?=&%]*)?$/.test(next) && !next.startsWith('//') ? next : '/console/sent'
}

/**
 * The console's public pages: the sign-in form (GET/POST /console/login, a plain HTML form that
 * works without script) and the stylesheet. Signing in shares POST /api/session's code path
 * (signIn): same failure budget, same audit entries, same session cookie.
 */
export default async function consoleLoginPages (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  const times = ctx.sessions ?? DEFAULT_SESSION_TIMES
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, formParser)
  app.addHook('onRequest', async (_request, reply) => { consoleSecurityHeaders(reply) })

  const loginPage = (page: ReturnType<typeof pageContext>, next: string, error?: MessageKey, username = ''): string => layout(page, page.t('login.title'), 'none', html`
<form class="login" method="post" action="/console/login">
  ${error != null ? html`<p class="notice bad" role="alert">${page.t(error)}</p>` : ''}
  <input type="hidden" name="next" value="${next}">
  <label for="username">${page.t('login.username')}</label>
  <input id="username" name="username" autocomplete="username" required value="${username}">
  <label for="password">${page.t('login.password')}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button class="primary" type="submit">${page.t('login.submit')}</button>
</form>`)

  app.get('/console/login', { schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const page = pageContext(request, reply)
    return sendPage(reply, loginPage(page, safeNext(query.next), query.ended === '1' ? 'login.ended' : undefined))
  })

  app.post('/console/login', { schema: { hide: true }, bodyLimit: 16 * 1024 }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const page = pageContext(request, reply)
    const next = safeNext(body.next)
    const username = typeof body.username === 'string' ? body.username : ''
    const password = typeof body.password === 'string' ? body.password : ''
    try {
      // Login CSRF: a foreign page must not sign the victim into the attacker's account.
      if (!sameOrigin(request)) throw new HubProblem('FORBIDDEN', 'sign in from the hub\'s own pages', { csrf: true })
      if (username === '' || password === '') throw new HubProblem('BAD_REQUEST', 'the username and the password are both needed')
      const { secret } = await signIn(request, ctx, username, password)
      reply.header('set-cookie', sessionCookie(request, ctx, secret, Math.floor(times.absoluteMs / 1000)))
      return await reply.code(303).header('location', next).send()
    } catch (err) {
      if (!(err instanceof HubProblem)) throw err
      const status = err.code === 'UNAUTHENTICATED' ? 401 : err.code === 'BAD_REQUEST' ? 400 : err.code === 'FORBIDDEN' ? 403 : err.code === 'RATE_LIMITED' ? 429 : 503
      return sendPage(reply, loginPage(page, next, PROBLEM_MESSAGES[err.code] ?? 'login.wrong', username.slice(0, 64)), status)
    }
  })

  app.get('/console/assets/console.css', { schema: { hide: true } }, async (_request, reply) => {
    return await reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(CONSOLE_CSS)
  })
  app.get('/console/assets/icon.svg', { schema: { hide: true } }, async (_request, reply) => {
    return await reply.header('content-type', 'image/svg+xml').header('cache-control', 'public, max-age=86400').send(CONSOLE_ICON_SVG)
  })
}
