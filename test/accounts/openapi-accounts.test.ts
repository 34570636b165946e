import t from 'tap'
import { testHub } from '../helpers/hub.js'

t.test('the /api routes are in the OpenAPI document, with their schemas', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  await hub.app.ready()
  const doc = (await hub.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { requestBody?: unknown, responses: Record<string, unknown>, security?: unknown[] }>> }>()
  const expected: Array<[string, string[]]> = [
    ['/api/session', ['post', 'get', 'delete']],
    ['/api/me/tokens', ['get', 'post']],
    ['/api/me/tokens/{id}', ['delete']],
    ['/api/admin/users', ['get', 'post']],
    ['/api/admin/users/{id}', ['get', 'patch']],
    ['/api/admin/users/{id}/password', ['post']],
    ['/api/admin/users/{id}/tokens', ['get', 'post']],
    ['/api/admin/tokens/{id}', ['delete']],
    ['/api/admin/audit', ['get']],
    ['/api/admin/agencies', ['get', 'post']],
    ['/api/admin/agencies/{code}', ['get', 'patch']],
    ['/api/admin/agencies/{code}/signing-certificates', ['post']],
    ['/api/admin/agencies/{code}/signing-certificates/{fingerprint}', ['delete']],
    ['/api/admin/agencies/{code}/api-keys', ['post']],
    ['/api/admin/agency-credentials/{id}', ['delete']],
    ['/api/admin/trust', ['get']],
    ['/api/admin/trust/cas', ['post']],
    ['/api/admin/trust/crls', ['post']],
    ['/api/signature-log', ['get']],
    ['/api/signature-log/export', ['get']],
    ['/api/signature-log/integrity', ['get']],
    ['/api/signature-log/checkpoints', ['get']],
    ['/api/signature-log/checkpoints/{id}', ['get']],
    ['/api/signature-log/{id}', ['get']],
    ['/api/documents', ['get']],
    ['/api/documents/{id}/timeline', ['get']],
    ['/api/receipts/{id}', ['get']],
    ['/api/deliveries/{id}/resend', ['post']]
  ]
  for (const [path, methods] of expected) {
    for (const method of methods) {
      const op = doc.paths[path]?.[method]
      t.ok(op != null, `${method.toUpperCase()} ${path} documented`)
      t.ok(op?.responses['403'] != null || path === '/api/session', `${method.toUpperCase()} ${path}: its 403 documented`)
    }
  }
  t.same(doc.paths['/api/session']?.post?.security, [], 'the sign-in needs no credential')
  t.ok(doc.paths['/api/session']?.post?.requestBody != null, 'the sign-in body is described')
})
