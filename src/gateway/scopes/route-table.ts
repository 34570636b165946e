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
  const seen: RouteOptions[] = []
  // The scope's own onRoute hook runs after this one and fills `config.scope` in the same
  // options object: read it later, not here.
  app.addHook('onRoute', (route) => { seen.push(route) })
  const table = (): GatewayRoute[] => seen.flatMap((route) => (Array.isArray(route.method) ? route.method : [route.method]).map((method) => ({
    method: String(method),
    url: route.url,
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
