import { Command } from 'commander'

/** `lienthong worker`: delivery worker + outbox reconciler, no HTTP. Run any number of them. */
export function workerCommand (): Command {
  return new Command('worker')
    .description('run the delivery worker (BullMQ consumer) and the outbox reconciler; needs DATABASE_URL')
    .action(async () => { await (await import('../hub/run-worker.js')).runWorker() })
}
