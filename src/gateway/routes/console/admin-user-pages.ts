import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { changeUser, createToken, createUser, resetPassword, revokeToken } from '../../../accounts/user-admin.js'
import { formatDate } from '../../../console/format.js'
import { html, type SafeHtml } from '../../../console/html.js'
import type { MessageKey } from '../../../console/i18n/messages.js'
import { csrfField, layout, type PageContext } from '../../../console/layout.js'
import type { Role } from '../../../domain/principal.js'
import { HubProblem } from '../../../errors/problem.js'
import { findUserToken, listUserTokens } from '../../../store/user-tokens.js'
import { findUserById, listUsers, type User } from '../../../store/users.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { requireRole } from '../../scopes/role-guard.js'
import { pageContext, sendPage } from './page-context.js'
import { acceptForms, attempt, field, notice, secretNotice } from './page-forms.js'

const ROLES: readonly Role[] = ['clerk', 'auditor', 'admin']
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The notices a redirect after a change may ask for (`?done=`): only these keys, never free text. */
const DONE: Record<string, MessageKey> = {
  created: 'users.created',
  changed: 'user.changed',
  disabled: 'user.disabledNotice',
  enabled: 'user.enabledNotice',
  reset: 'user.resetNotice',
  revoked: 'user.token.revokedNotice'
}

function roleOf (value: unknown): Role | undefined {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value) ? value as Role : undefined
}

function stateBadge (page: PageContext, user: User): SafeHtml {
  return user.disabled
    ? html`<span class="state tone-bad">${page.t('users.disabled')}</span>`
    : html`<span class="state tone-ok">${page.t('users.enabled')}</span>`
}

function roleOptions (page: PageContext, selected: Role | undefined): SafeHtml[] {
  return ROLES.map((r) => r === selected
    ? html`<option value="${r}" selected>${page.t(`user.role.${r}`)}</option>`
    : html`<option value="${r}">${page.t(`user.role.${r}`)}</option>`)
}

/**
 * The admin's user pages (docs/console.md): the list with a creation form, and one user's page
 * with role and agency, disable/enable, password reset and personal tokens. Every change goes
 * through src/accounts/user-admin.ts, the functions behind /api/admin/users and `lienthong
 * user`: same checks (the last admin cannot be disabled, a clerk needs an agency), same audit
 * entries. Forms post and redirect (303) to the page with a notice key; a refused change shows
 * the page again with the API's detail and the values typed.
 */
export default async function adminUserPages (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  acceptForms(app)
  app.addHook('onRequest', requireRole('admin'))

  const listPage = async (request: FastifyRequest, reply: FastifyReply, outcome?: { status: number, notice: SafeHtml, typed: Record<string, string | undefined> }): Promise<FastifyReply> => {
    const page = pageContext(request, reply)
    const { t } = page
    const users = await listUsers(ctx.db)
    const typed = outcome?.typed ?? {}
    const body = html`
${outcome?.notice}
<table>
<thead><tr><th scope="col">${t('users.col.username')}</th><th scope="col">${t('users.col.name')}</th><th scope="col">${t('users.col.role')}</th>
<th scope="col">${t('users.col.agency')}</th><th scope="col">${t('users.col.state')}</th></tr></thead>
<tbody>${users.map((u) => html`<tr data-username="${u.username}">
  <th scope="row"><a href="/console/admin/users/${u.id}">${u.username}</a></th><td>${u.displayName}</td><td>${t(`user.role.${u.role}`)}</td>
  <td>${u.agencyCode ?? ''}</td><td>${stateBadge(page, u)}</td>
</tr>`)}</tbody></table>
<h2>${t('users.new')}</h2>
<form class="filters" method="post" action="/console/admin/users">
  ${csrfField(page)}
  <label>${t('users.field.username')}<input name="username" required maxlength="64" autocomplete="off" value="${typed.username ?? ''}"></label>
  <label>${t('users.field.name')}<input name="displayName" maxlength="200" value="${typed.displayName ?? ''}"></label>
  <label>${t('users.field.role')}<select name="role">${roleOptions(page, roleOf(typed.role) ?? 'clerk')}</select></label>
  <label>${t('users.field.agency')}<input name="agencyCode" maxlength="64" value="${typed.agencyCode ?? ''}"></label>
  <label>${t('users.field.password')}<input name="password" type="password" autocomplete="new-password"></label>
  <button class="primary" type="submit">${t('users.create')}</button>
</form>`
    return sendPage(reply, layout(page, t('users.title'), 'users', body), outcome?.status)
  }

  const userPage = async (request: FastifyRequest, reply: FastifyReply, id: string, top?: { status?: number, notice: SafeHtml }): Promise<FastifyReply> => {
    const page = pageContext(request, reply)
    const { t } = page
    const user = UUID.test(id) ? await findUserById(ctx.db, id) : undefined
    if (user == null) throw new HubProblem('NOT_FOUND', 'no such user')
    const tokens = await listUserTokens(ctx.db, user.id)
    const q = request.query as Record<string, unknown>
    // Own keys only: `?done=__proto__` must not reach the translator.
    const done = typeof q.done === 'string' && Object.hasOwn(DONE, q.done) ? DONE[q.done] : undefined
    const body = html`
${done != null ? notice('ok', t(done, { username: user.username })) : ''}
${top?.notice}
<dl class="facts">
  <dt>${t('users.col.username')}</dt><dd>${user.username}</dd>
  <dt>${t('users.col.name')}</dt><dd>${user.displayName}</dd>
  <dt>${t('users.col.role')}</dt><dd>${t(`user.role.${user.role}`)}</dd>
  <dt>${t('users.col.agency')}</dt><dd>${user.agencyCode ?? ''}</dd>
  <dt>${t('users.col.state')}</dt><dd>${stateBadge(page, user)}
    <form class="inline" method="post" action="/console/admin/users/${user.id}/${user.disabled ? 'enable' : 'disable'}">${csrfField(page)}<button type="submit">${t(user.disabled ? 'user.enable' : 'user.disable')}</button></form></dd>
</dl>
<h2>${t('user.change')}</h2>
<form class="filters" method="post" action="/console/admin/users/${user.id}">
  ${csrfField(page)}
  <label>${t('users.field.name')}<input name="displayName" maxlength="200" value="${user.displayName}"></label>
  <label>${t('users.field.role')}<select name="role">${roleOptions(page, user.role)}</select></label>
  <label>${t('users.field.agency')}<input name="agencyCode" maxlength="64" value="${user.agencyCode ?? ''}"></label>
  <button class="primary" type="submit">${t('form.save')}</button>
</form>
<h2>${t('user.reset')}</h2>
<form class="filters" method="post" action="/console/admin/users/${user.id}/password">
  ${csrfField(page)}
  <label>${t('user.reset.password')}<input name="password" type="password" autocomplete="new-password" required></label>
  <button class="primary" type="submit">${t('user.reset')}</button>
</form>
<h2>${t('user.tokens')}</h2>
${tokens.length === 0
  ? html`<p>${t('form.none')}</p>`
  : html`<table>
<thead><tr><th scope="col">${t('user.token.label')}</th><th scope="col">${t('user.token.prefix')}</th><th scope="col">${t('agency.cred.created')}</th>
<th scope="col">${t('user.token.expires')}</th><th scope="col">${t('user.token.lastUsed')}</th><th scope="col">${t('agency.cred.state')}</th></tr></thead>
<tbody>${tokens.map((k) => html`<tr>
  <td>${k.label}</td><td class="mono">${k.prefix}</td><td>${formatDate(k.createdAt)}</td><td>${formatDate(k.expiresAt)}</td><td>${formatDate(k.lastUsedAt)}</td>
  <td>${k.revokedAt != null
    ? html`<span class="state tone-muted">${t('agency.cred.revoked', { date: formatDate(k.revokedAt) })}</span>`
    : html`<span class="state tone-ok">${t('agency.cred.active')}</span>
      <form class="inline" method="post" action="/console/admin/tokens/${k.id}/revoke">${csrfField(page)}<button type="submit">${t('agency.cred.revoke')}</button></form>`}</td>
</tr>`)}</tbody></table>`}
<form class="filters" method="post" action="/console/admin/users/${user.id}/tokens">
  ${csrfField(page)}
  <label>${t('user.token.label')}<input name="label" maxlength="200"></label>
  <button class="primary" type="submit">${t('user.token.create')}</button>
</form>`
    return sendPage(reply, layout(page, t('user.title', { username: user.username }), 'users', body), top?.status)
  }

  app.get('/admin/users', { schema: { hide: true } }, async (request, reply) => await listPage(request, reply))

  app.post('/admin/users', { schema: { hide: true }, bodyLimit: 64 * 1024 }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const page = pageContext(request, reply)
    const typed = { username: field(body.username, 64), displayName: field(body.displayName), role: field(body.role, 16), agencyCode: field(body.agencyCode, 64) }
    const role = roleOf(typed.role)
    const password = typeof body.password === 'string' && body.password !== '' ? body.password : undefined
    const result = await attempt(page, async () => {
      if (typed.username == null || role == null) throw new HubProblem('BAD_REQUEST', 'a username and a role are needed')
      return await createUser(ctx.db, auditActorOf(request), {
        username: typed.username,
        role,
        // Only a clerk works for an agency; the field is ignored for the other roles.
        agencyCode: role === 'clerk' ? (typed.agencyCode ?? null) : null,
        ...(typed.displayName != null ? { displayName: typed.displayName } : {}),
        ...(password != null ? { password } : {})
      })
    })
    if (!result.ok) return await listPage(request, reply, { status: result.status, notice: result.notice, typed })
    return await reply.code(303).header('location', `/console/admin/users/${result.value.id}?done=created`).send()
  })

  app.get('/admin/users/:id', { schema: { hide: true } }, async (request, reply) => await userPage(request, reply, (request.params as { id: string }).id))

  /** A change to the user of the path; on success back to its page with a notice, else the page with the refusal. */
  const change = (apply: (request: FastifyRequest, id: string) => Promise<unknown>, done: keyof typeof DONE | ((request: FastifyRequest) => keyof typeof DONE)) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const id = (request.params as { id: string }).id
      if (!UUID.test(id)) throw new HubProblem('NOT_FOUND', 'no such user')
      const result = await attempt(pageContext(request, reply), async () => await apply(request, id))
      if (!result.ok) return await userPage(request, reply, id, result)
      return await reply.code(303).header('location', `/console/admin/users/${id}?done=${typeof done === 'function' ? done(request) : done}`).send()
    }

  app.post('/admin/users/:id', { schema: { hide: true }, bodyLimit: 64 * 1024 }, change(async (request, id) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const role = roleOf(body.role)
    if (role == null) throw new HubProblem('BAD_REQUEST', 'choose a role')
    const displayName = typeof body.displayName === 'string' ? body.displayName.trim().slice(0, 200) : undefined
    return await changeUser(ctx.db, auditActorOf(request), id, {
      role,
      agencyCode: role === 'clerk' ? (field(body.agencyCode, 64) ?? null) : null,
      ...(displayName != null ? { displayName } : {})
    })
  }, 'changed'))

  app.post('/admin/users/:id/disable', { schema: { hide: true } }, change(async (request, id) => await changeUser(ctx.db, auditActorOf(request), id, { disabled: true }), 'disabled'))
  app.post('/admin/users/:id/enable', { schema: { hide: true } }, change(async (request, id) => await changeUser(ctx.db, auditActorOf(request), id, { disabled: false }), 'enabled'))

  app.post('/admin/users/:id/password', { schema: { hide: true }, bodyLimit: 64 * 1024 }, change(async (request, id) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    return await resetPassword(ctx.db, auditActorOf(request), id, typeof body.password === 'string' ? body.password : '')
  }, 'reset'))

  // The new token's secret is shown in this answer only (no redirect: it must never be in a URL).
  app.post('/admin/users/:id/tokens', { schema: { hide: true }, bodyLimit: 64 * 1024 }, async (request, reply) => {
    const id = (request.params as { id: string }).id
    const user = UUID.test(id) ? await findUserById(ctx.db, id) : undefined
    if (user == null) throw new HubProblem('NOT_FOUND', 'no such user')
    const page = pageContext(request, reply)
    const label = field(((request.body ?? {}) as Record<string, unknown>).label)
    const result = await attempt(page, async () => await createToken(ctx.db, auditActorOf(request), user, { ...(label != null ? { label } : {}) }))
    if (!result.ok) return await userPage(request, reply, id, result)
    return await userPage(request, reply, id, { status: 201, notice: secretNotice(page, page.t('user.token.created'), result.value.secret) })
  })

  app.post('/admin/tokens/:id/revoke', { schema: { hide: true } }, async (request, reply) => {
    const id = (request.params as { id: string }).id
    const token = UUID.test(id) ? await findUserToken(ctx.db, id) : undefined
    if (token == null) throw new HubProblem('NOT_FOUND', 'no such token')
    const result = await attempt(pageContext(request, reply), async () => await revokeToken(ctx.db, auditActorOf(request), id))
    if (!result.ok) return await userPage(request, reply, token.userId, result)
    return await reply.code(303).header('location', `/console/admin/users/${token.userId}?done=revoked`).send()
  })
}
