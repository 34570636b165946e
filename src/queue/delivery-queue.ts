import { Queue } from 'bullmq'
import { Redis } from 'ioredis'

export const DELIVERY_QUEUE = 'deliveries'

export interface DeliveryJob {
  deliveryId: string
}

/**
 * The producer side of the delivery queue. Job data holds ids only (never document bytes or
 * secrets); jobId = delivery id, so enqueueing the same delivery twice (reconciler after a
 * crash) is a no-op in BullMQ. The producer connection fails fast: when Redis is down the
 * accept path must not hang — the delivery row stays `enqueued = false` and the reconciler
 * enqueues it when Redis is back.
 */
export class DeliveryQueue {
  private readonly connection: Redis
  readonly queue: Queue<DeliveryJob>

  constructor (redisUrl: string, prefix: string) {
    this.connection = new Redis(redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000)
    })
    // Connection errors are expected while Redis is down; enqueue() reports them per call.
    this.connection.on('error', () => {})
    this.queue = new Queue<DeliveryJob>(DELIVERY_QUEUE, { connection: this.connection, prefix })
    this.queue.on('error', () => {})
  }

  async enqueue (deliveryIds: readonly string[]): Promise<void> {
    if (deliveryIds.length === 0) return
    if (this.connection.status !== 'ready') throw new Error(`Redis is not connected (${this.connection.status})`)
    await this.queue.addBulk(deliveryIds.map((id) => ({
      name: 'deliver',
      data: { deliveryId: id },
      opts: { jobId: id, removeOnComplete: 1000, removeOnFail: 5000 }
    })))
  }

  async ping (): Promise<boolean> {
    try {
      return this.connection.status === 'ready' && (await this.connection.ping()) === 'PONG'
    } catch {
      return false
    }
  }

  async close (): Promise<void> {
    await this.queue.close().catch(() => {})
    this.connection.disconnect()
  }
}
