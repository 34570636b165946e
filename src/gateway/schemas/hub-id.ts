import { Type } from '@sinclair/typebox'

/**
 * An id the hub issued (documents, deliveries, receipts): a UUID in the canonical lower-case form
 * randomUUID() gives. Not ajv's `uuid` format: that also takes `urn:uuid:...` (which PostgreSQL's
 * uuid type refuses: a 500) and upper case (which PostgreSQL takes but BullMQ job ids do not: a
 * second job for one delivery). Outsider review, findings A2 and A5.
 */
export const HubId = (): ReturnType<typeof Type.String> => Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'a lower-case UUID, as issued by the hub' })
