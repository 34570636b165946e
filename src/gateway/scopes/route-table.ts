import type { FastifyInstance, RouteOptions } from 'fastify'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after the guard, with its scope (test/gateway/route-auth.test.ts). */
    gatewayRoutes: () => GatewayRoute[]
  }
}

export interface GatewayRoute { method: string, url: string, scope: string | undefined }

/**
 * Records every route (an onRoute hook on the root instance sees the routes of every encapsulated
 * child) and refuses to start when one was registered outside a scope: such a route would have
 * no authentication hook, so deny by default would silently not hold for it.
 */
export function guardRouteScopes (app: FastifyInstance): void {
  const seen: Array<{ route: RouteOptions, url: string, methods: string[] }> = []
  // The scope's own onRoute hook runs after this one and fills `config.scope` in the same
  // options object: read it later, not here. The url and method are copied now: for a plugin's
  // '/' under a prefix (the API reference's /docs) Fastify announces '/docs', then rewrites the
  // same options object's url to '/docs/' for its unannounced trailing-slash twin.
  app.addHook('onRoute', (route) => {
    seen.push({ route, url: route.url, methods: (Array.isArray(route.method) ? route.method : [route.method]).map(String) })
  })
  const table = (): GatewayRoute[] => seen.flatMap(({ route, url, methods }) => methods.map((method) => ({
    method,
    url,
    scope: route.config?.scope
  })))
  app.decorate('gatewayRoutes', table)
  app.addHook('onReady', async () => {
    const outside = table().filter((route) => route.scope == null)
    if (outside.length > 0) {
      throw new Error(`routes outside every gateway scope (register them in one, src/gateway/scopes/): ${outside.map((r) => `${r.method} ${r.url}`).join(', ')}`)
    }
  })
}
