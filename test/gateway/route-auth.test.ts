import t from 'tap'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { buildGateway } from '../../src/gateway/app.js'
import type { HubContext } from '../../src/gateway/hub-context.js'
import { HubProblem } from '../../src/errors/problem.js'
import { agencyOf } from '../../src/gateway/scopes/agency-authenticator.js'
import { gatewayScopes } from '../../src/gateway/scopes/gateway-scopes.js'
import { authenticatedScope, type GatewayScope, type RoutePlugin } from '../../src/gateway/scopes/scope.js'
import { HubMetrics } from '../../src/metrics/hub-metrics.js'
import type { TeardownHost } from '../helpers/database.js'
import { testHub } from '../helpers/hub.js'

// Deny by default (issue 11): every route but this explicit list answers 401 without a
// credential. A route added later without authentication, or a public route removed or renamed,
// fails here.
const PUBLIC = [
  'GET /health/live', 'HEAD /health/live',
  'GET /health/ready', 'HEAD /health/ready',
  'GET /metrics', 'HEAD /metrics',
  'GET /openapi.json', 'HEAD /openapi.json',
  // The interactive API reference (@fastify/swagger-ui) and its files, served by the hub itself.
  'GET /docs', 'HEAD /docs', 'GET /docs/', 'HEAD /docs/', 'GET /docs/json', 'HEAD /docs/json', 'GET /docs/yaml', 'HEAD /docs/yaml',
  'GET /docs/static/*', 'HEAD /docs/static/*', 'GET /docs/static/index.html', 'HEAD /docs/static/index.html',
  'GET /docs/static/swagger-initializer.js', 'HEAD /docs/static/swagger-initializer.js',
  // The console's sign-in: the caller has no credential yet (failures count against the budget).
  'POST /api/session',
  // The web console's sign-in form and its stylesheet (docs/console.md).
  'GET /console/login', 'HEAD /console/login', 'POST /console/login',
  'GET /console/assets/console.css', 'HEAD /console/assets/console.css',
  'GET /console/assets/icon.svg', 'HEAD /console/assets/icon.svg'
].sort()

// Fastify registers a plugin's '/' under a prefix twice ('/docs' and '/docs/', prefixTrailingSlash
// 'both') but announces only the first to onRoute hooks; the twin shares its hooks and scope.
const TWINS = ['GET /docs/']

const G22 = '000.00.00.G22'
const DUMMY_ID = '0b7e8f0c-4a51-4d0e-9a3e-5f1c2d3e4f50'

/** Every route of the gateway as printed by Fastify's own router (`METHOD /path`). */
function printedRoutes (app: FastifyInstance): string[] {
  const routes: string[] = []
  const path: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const node = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line)
    if (node == null) continue
    path.length = (node[1] as string).length / 4
    path.push(node[2] as string)
    for (const method of node[3]?.split(', ') ?? []) routes.push(`${method} ${path.join('')}`)
  }
  // find-my-way prints @fastify/static's wildcard under /docs/static/ one level up, as
  // '/docs/*' (the router itself matches /docs/static/* only: /docs/x asks for a credential).
  return routes.map((r) => r.replace(/ \/docs\/\*$/, ' /docs/static/*')).sort()
}

interface Probe { route: string, status: number, code: string | undefined, type: string | undefined, vdxp?: unknown }

/** VDXP clients read a JSON body {status, ErrorCode, ErrorDesc}, never problem+json (docs/vdxp-compat.md). */
const isVdxp = (route: string): boolean => / \/vdxp\//.test(route)

/** Asks every route, path parameters filled with a dummy id, without any credential. */
async function probeWithoutCredentials (app: FastifyInstance): Promise<Probe[]> {
  const probes: Probe[] = []
  const twins = TWINS.map((r) => ({ method: r.split(' ')[0] as string, url: r.split(' ')[1] as string }))
  for (const { method, url } of [...app.gatewayRoutes(), ...twins]) {
    const res = await app.inject({ method: method as 'GET', url: url.replace(/:[A-Za-z]+/g, DUMMY_ID) })
    const type = res.headers['content-type']
    probes.push({
      route: `${method} ${url}`,
      status: res.statusCode,
      code: method !== 'HEAD' && typeof type === 'string' && type.startsWith('application/problem+json') ? res.json<{ code: string }>().code : undefined,
      type: typeof type === 'string' ? type : undefined,
      ...(isVdxp(`${method} ${url}`) && method !== 'HEAD' ? { vdxp: res.json() } : {})
    })
  }
  return probes
}

/** The real gateway, /metrics served without a token (so that it is reachable at all). */
async function gateway (t: TeardownHost, scopes?: (context: HubContext) => GatewayScope[]): Promise<{ app: FastifyInstance, keys: Record<string, string> }> {
  // Every probe without a credential is a failed authentication from 127.0.0.1.
  const hub = await testHub(t, { authFailuresPerMinute: 10_000, metrics: new HubMetrics({ clusterGauges: false, defaultMetrics: false }), exposeMetrics: true })
  if (scopes == null) return { app: hub.app, keys: hub.keys }
  const app = await buildGateway(hub.context, { scopes: scopes(hub.context) })
  t.teardown(async () => { await app.close() })
  return { app, keys: hub.keys }
}

const withRoutes = (scopes: GatewayScope[], name: string, routes: RoutePlugin): GatewayScope[] =>
  scopes.map((s) => s.name === name ? { ...s, routes: [...s.routes, routes] } : s)

const forgotten: RoutePlugin = async (app) => {
  app.get('/forgot-auth', async () => ({ secret: true }))
  app.post('/forgot-auth/:id/delete', async () => ({ deleted: true }))
}

t.test('every route but the public list answers 401 problem+json UNAUTHENTICATED without a credential', async (t) => {
  const { app } = await gateway(t)
  await app.ready()
  const table = app.gatewayRoutes().map((r) => `${r.method} ${r.url}`).sort()
  t.same([...table, ...TWINS].sort(), printedRoutes(app), 'the recorded route table is the router\'s (nothing registered around it)')
  t.ok(table.length > PUBLIC.length + 10, `${table.length} routes walked`)

  const probes = await probeWithoutCredentials(app)
  const open = probes.filter((p) => p.status !== 401).map((p) => p.route).sort()
  t.same(open, PUBLIC, 'exactly the public routes answer without a credential (none missing, none added)')
  for (const p of probes.filter((p) => !PUBLIC.includes(p.route) && !isVdxp(p.route))) {
    t.match(p, { status: 401, type: /^application\/problem\+json/ }, `${p.route}: 401 problem+json`)
    if (!p.route.startsWith('HEAD ')) t.equal(p.code, 'UNAUTHENTICATED', `${p.route}: UNAUTHENTICATED`)
  }
  const vdxp = probes.filter((p) => isVdxp(p.route))
  t.ok(vdxp.length >= 13, `${vdxp.length} VDXP routes walked`)
  for (const p of vdxp) {
    t.match(p, { status: 401, type: /^application\/json/ }, `${p.route}: 401 in VDXP form`)
    if (!p.route.startsWith('HEAD ')) t.match(p.vdxp, { status: 'FAIL', ErrorCode: '101', ErrorDesc: /\S/, code: 'UNAUTHENTICATED' }, `${p.route}: FAIL 101`)
  }
  for (const p of probes.filter((p) => PUBLIC.includes(p.route))) {
    // The sign-in answers an empty probe 400 (no username and password): reached, not refused.
    t.ok(p.status < 400 || (p.route.endsWith('/health/ready') && p.status === 503) || (p.route === 'POST /api/session' && p.status === 400) || (p.route === 'POST /console/login' && p.status === 400) ||
      // The API reference's files: a dummy file name is not found (reached, not refused).
      (p.route.endsWith(' /docs/static/*') && p.status === 404), `${p.route}: answered (${p.status})`)
  }
})

t.test('a route added to the /v1 scope without a word about authentication is authenticated all the same', async (t) => {
  const { app, keys } = await gateway(t, (context) => withRoutes(gatewayScopes(context), 'v1', forgotten))
  await app.ready()
  const probes = await probeWithoutCredentials(app)
  const added = probes.filter((p) => p.route.includes('forgot-auth')).sort((a, b) => a.route.localeCompare(b.route))
  t.same(added.map((p) => [p.route, p.status, p.code]), [
    ['GET /v1/forgot-auth', 401, 'UNAUTHENTICATED'],
    ['HEAD /v1/forgot-auth', 401, undefined],
    ['POST /v1/forgot-auth/:id/delete', 401, 'UNAUTHENTICATED']
  ], 'found by the walk, and refused')
  t.same(probes.filter((p) => p.status !== 401).map((p) => p.route).sort(), PUBLIC)
  const answered = await app.inject({ url: '/v1/forgot-auth', headers: { authorization: `Bearer ${keys[G22]}` } })
  t.equal(answered.statusCode, 200, 'with a credential it answers')
})

t.test('the walk catches a route that answers without a credential', async (t) => {
  const { app } = await gateway(t, (context) => withRoutes(gatewayScopes(context), 'public', forgotten))
  await app.ready()
  const open = (await probeWithoutCredentials(app)).filter((p) => p.status !== 401).map((p) => p.route)
  t.same(open.filter((r) => !PUBLIC.includes(r)).sort(), ['GET /forgot-auth', 'HEAD /forgot-auth', 'POST /forgot-auth/:id/delete'], 'an unlisted public route stands out')
})

t.test('a route registered outside every scope stops the gateway from starting', async (t) => {
  const { app } = await gateway(t, (context) => gatewayScopes(context))
  app.get('/v1/sneaky', async () => ({ secret: true }))
  await t.rejects(async () => { await app.ready() }, /routes outside every gateway scope.*GET \/v1\/sneaky/)
})

t.test('another route family declares its own authenticator; failed authentications share one budget per address', async (t) => {
  const backoffice: GatewayScope = authenticatedScope({
    name: 'backoffice',
    prefix: '/backoffice',
    authenticator: {
      resolve: async (request: FastifyRequest) => {
        if (request.headers.cookie !== 'session=valid') throw new HubProblem('UNAUTHENTICATED', 'sign in to the console')
        return { user: 'operator' }
      },
      credentialKey: (principal) => `console:${principal.user}`,
      attach: () => {},
      decorate: () => {}
    },
    routes: [async (app) => { app.get('/overview', async (request) => ({ credential: request.credential })) }]
  })
  const hub = await testHub(t, { redisUrl: null, authFailuresPerMinute: 3 })
  const app = await buildGateway(hub.context, { scopes: [...gatewayScopes(hub.context), backoffice] })
  t.teardown(async () => { await app.close() })

  const ok = await app.inject({ url: '/backoffice/overview', headers: { cookie: 'session=valid' } })
  t.same([ok.statusCode, ok.json()], [200, { credential: 'console:operator' }], 'the console\'s own credential enters the console')
  const cases = [
    { name: 'an agency key does not open the console', url: '/backoffice/overview', headers: { authorization: `Bearer ${hub.keys[G22]}` }, detail: /sign in to the console/ },
    { name: 'an unknown backoffice route asks for the console credential', url: '/backoffice/nope', headers: { cookie: 'session=guess' }, detail: /sign in to the console/ },
    { name: 'the console cookie does not open /v1', url: '/v1/inbox', headers: { cookie: 'session=valid' }, detail: /API key/ }
  ]
  for (const c of cases) {
    const res = await app.inject({ url: c.url, headers: c.headers })
    t.match([res.statusCode, res.json()], [401, { code: 'UNAUTHENTICATED', detail: c.detail }], c.name)
  }
  const limited = await app.inject({ url: '/backoffice/overview', headers: { cookie: 'session=stolen-guess' } })
  t.match([limited.statusCode, limited.json()], [429, { code: 'RATE_LIMITED' }], 'three failures across scopes: the next failure from the address is refused with 429')
  // The budget counts failures only: a valid credential from the same address is still served
  // (a shared proxy or NAT must not let strangers lock agencies out).
  const valid = await app.inject({ url: '/backoffice/overview', headers: { cookie: 'session=valid' } })
  t.equal(valid.statusCode, 200, 'a valid cookie from the exhausted address is served')
})

t.test('agencyOf outside an agency scope is a programming error, not an anonymous agency', async (t) => {
  const request = { agency: undefined, method: 'GET', url: '/x', routeOptions: { url: '/x' } } as unknown as FastifyRequest
  t.throws(() => agencyOf(request), /not in an agency scope/)
})
