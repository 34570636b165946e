import type { FastifyInstance, FastifyBaseLogger } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { assertWebPushUrl } from '../../../admin/push-url-policy.js'
import { addSigningCertificate, createAgency, createAgencyApiKey, revokeAgencyCredential, revokeAgencySigningCertificate, updateAgency } from '../../../admin/agency-admin.js'
import { HubProblem } from '../../../errors/problem.js'
import { storedAgencies, type StoredAgency } from '../../../registry/registry-db.js'
import { agencyOverview, type AgencyOverview } from '../../../store/agency-overview.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { requireRole } from '../../scopes/role-guard.js'
import { IdParams } from '../../schemas/accounts.js'
import { AddedSigningCertificate, AgencyAnswer, AgencyList, AgencyPatchBody, CodeFingerprintParams, CodeParams, NewAgencyBody, RevokedSigningCertificate, SigningCertificateBody } from '../../schemas/admin-registry.js'
import { commonErrors } from '../../schemas/problem.js'

const NewKeyBody = Type.Object({ label: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false })
const CreatedKey = Type.Object({ id: Type.String(), key: Type.String({ description: 'the API key (Authorization: Bearer <key> on /v1); shown in this answer only' }) })
const errors = { ...commonErrors, 409: Type.Ref('Problem') }
const TAGS = ['admin: agencies']

/**
 * Agencies (the registry held in the database), their signing certificates and credentials, for
 * admins only. Every change is audited in its own transaction (src/admin/agency-admin.ts), then
 * this process reloads its verification threads at once; other processes follow at their next
 * registry poll (docs/agency-registry.md, "Registry in the database").
 */
export default async function adminAgencyRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context
  app.addHook('onRequest', requireRole('admin'))

  const answer = async (code: string): Promise<AgencyAnswer> => {
    const [stored] = await storedAgencies(ctx.db, code)
    if (stored == null) throw new HubProblem('NOT_FOUND', `no agency ${code}`)
    const overview = (await agencyOverview(ctx.db)).find((a) => a.code === code)
    return agencyAnswer(stored, overview)
  }

  app.get('/admin/agencies', {
    schema: { summary: 'Agencies with their delivery, signing certificates and credentials (never a secret)', tags: TAGS, response: { 200: AgencyList, ...commonErrors } }
  }, async () => {
    const overview = new Map((await agencyOverview(ctx.db)).map((a) => [a.code, a]))
    return { agencies: (await storedAgencies(ctx.db)).map((a) => agencyAnswer(a, overview.get(a.entry.code))) }
  })

  app.get('/admin/agencies/:code', {
    schema: { summary: 'One agency', tags: TAGS, params: CodeParams, response: { 200: AgencyAnswer, ...commonErrors } }
  }, async (request) => await answer(request.params.code))

  app.post('/admin/agencies', {
    bodyLimit: 1024 * 1024,
    schema: { summary: 'Create an agency (its row rules from now on; add an API key next)', tags: TAGS, body: NewAgencyBody, response: { 201: AgencyAnswer, ...errors } }
  }, async (request, reply) => {
    const { signingCertificates, ...rest } = request.body
    assertWebPushUrl(rest.delivery)
    await createAgency(ctx.db, auditActorOf(request), {
      ...rest,
      ...(signingCertificates != null ? { signingCertificates: signingCertificates.map((c) => ({ pem: c.pem, ...(c.label != null ? { label: c.label } : {}) })) } : {})
    })
    await propagate(ctx, request.log)
    return await reply.code(201).send(await answer(request.body.code))
  })

  app.patch('/admin/agencies/:code', {
    bodyLimit: 64 * 1024,
    schema: { summary: 'Change an agency\'s name, delivery (mode, endpoint, server pins), subject rule or algorithm settings', tags: TAGS, params: CodeParams, body: AgencyPatchBody, response: { 200: AgencyAnswer, ...errors } }
  }, async (request) => {
    const { subjectRule, ...rest } = request.body
    assertWebPushUrl(rest.delivery)
    await updateAgency(ctx.db, auditActorOf(request), request.params.code, { ...rest, ...(subjectRule !== undefined ? { subjectRule } : {}) })
    await propagate(ctx, request.log)
    return await answer(request.params.code)
  })

  app.post('/admin/agencies/:code/signing-certificates', {
    bodyLimit: 128 * 1024,
    schema: { summary: 'Register a signing certificate (PEM; its SHA-256 fingerprint binds it to the agency)', tags: TAGS, params: CodeParams, body: SigningCertificateBody, response: { 201: AddedSigningCertificate, ...errors } }
  }, async (request, reply) => {
    const added = await addSigningCertificate(ctx.db, auditActorOf(request), request.params.code, request.body.pem, request.body.label ?? '')
    await propagate(ctx, request.log)
    return await reply.code(201).send({ agencyCode: request.params.code, fingerprint: added.fingerprint, subject: added.subject, notAfter: added.notAfter.toISOString() })
  })

  app.delete('/admin/agencies/:code/signing-certificates/:fingerprint', {
    schema: { summary: 'Revoke a signing certificate of an agency: documents it signs are refused from the next verification (SENDER_MISMATCH)', tags: TAGS, params: CodeFingerprintParams, response: { 200: RevokedSigningCertificate, ...errors } }
  }, async (request) => {
    const revoked = await revokeAgencySigningCertificate(ctx.db, auditActorOf(request), request.params.code, request.params.fingerprint)
    await propagate(ctx, request.log)
    return revoked
  })

  app.post('/admin/agencies/:code/api-keys', {
    bodyLimit: 16 * 1024,
    schema: { summary: 'Create an API key for an agency system; shown in this answer only', tags: TAGS, params: CodeParams, body: NewKeyBody, response: { 201: CreatedKey, ...errors } }
  }, async (request, reply) => {
    const created = await createAgencyApiKey(ctx.db, auditActorOf(request), request.params.code, request.body.label ?? '')
    return await reply.code(201).header('cache-control', 'no-store').send(created)
  })

  app.delete('/admin/agency-credentials/:id', {
    schema: { summary: 'Revoke an agency API key or TLS client certificate', tags: TAGS, params: IdParams, response: { 200: Type.Object({ id: Type.String(), agencyCode: Type.String() }), ...errors } }
  }, async (request) => await revokeAgencyCredential(ctx.db, auditActorOf(request), request.params.id))
}

/**
 * This process's verification threads reloaded before the answer: a new agency can submit as soon
 * as the admin has the answer. A failed reload is logged and not the admin's error (the change is
 * committed; the next poll retries it).
 */
export async function propagate (ctx: HubContext, log: FastifyBaseLogger): Promise<void> {
  try {
    await ctx.registryChanged?.()
  } catch (err) {
    log.error({ err }, 'registry changed, but reloading this process\'s verification threads failed (retried at the next poll)')
  }
}

type AgencyAnswer = import('@sinclair/typebox').Static<typeof AgencyAnswer>

function agencyAnswer (stored: StoredAgency, overview: AgencyOverview | undefined): AgencyAnswer {
  const e = stored.entry
  return {
    code: e.code,
    name: e.name,
    deliveryMode: e.delivery.mode,
    pushUrl: e.delivery.mode === 'push' ? e.delivery.url : null,
    allowWeakAlgorithms: e.allowWeakAlgorithms,
    allowUnsignedEnvelopes: e.allowUnsignedEnvelopes === true,
    delivery: e.delivery,
    subjectRule: e.subjectRule ?? null,
    managedBy: stored.managedBy,
    signingCertificates: stored.signingCertificates,
    credentials: overview?.credentials ?? []
  }
}
