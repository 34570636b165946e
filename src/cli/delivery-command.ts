import { userInfo } from 'node:os'
import { Command } from 'commander'
import { loadConfig } from '../config/config.js'

/** Operator controls over deliveries; recorded in the delivery trail as `operator:<user>`. */
export function deliveryCommand (): Command {
  const delivery = new Command('delivery').description('operator controls over deliveries')
  for (const action of ['resend', 'cancel'] as const) {
    delivery.command(`${action} <deliveryId>`)
      .description(action === 'resend' ? 'resend a failed or cancelled delivery' : 'cancel a delivery not yet made')
      .action(async (id: string) => {
        const { cancelDelivery, resendDelivery } = await import('../delivery/operator-controls.js')
        const { openHubDatabase } = await import('../hub/open-database.js')
        const { DeliveryQueue } = await import('../queue/delivery-queue.js')
        const config = loadConfig()
        const db = await openHubDatabase(config.databaseUrl, config.dataDir)
        const queue = new DeliveryQueue(config.redisUrl, config.queuePrefix)
        try {
          const run = action === 'resend' ? resendDelivery : cancelDelivery
          const result = await run(db, queue, id, `operator:${userInfo().username}`)
          if (!result.ok) throw new Error(result.detail)
          process.stdout.write(`${id}: ${result.state}\n`)
        } finally {
          await queue.close()
          await db.close()
        }
      })
  }
  return delivery
}
