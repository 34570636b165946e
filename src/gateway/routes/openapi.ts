import type { FastifyInstance } from 'fastify'

/** GET /openapi.json: the API description generated from the route schemas (@fastify/swagger). */
export default async function openApiRoute (app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger())
}
