import { Command } from 'commander'

/**
 * `lienthong start` (gateway + worker, one process) and `lienthong serve` (gateway only). The hub
 * modules are loaded only when one of these runs, so other commands start quickly.
 */
export function startCommands (): Command[] {
  const run = async (role: 'start' | 'serve'): Promise<void> => { await (await import('../hub/run-hub.js')).runHub(role) }
  const start = new Command('start')
    .description('run the whole hub in one process (gateway and delivery worker); embedded database unless DATABASE_URL is set')
    .action(async () => { await run('start') })
  const serve = new Command('serve')
    .description('run the gateway only (HTTP API); scale out by running several')
    .action(async () => { await run('serve') })
  return [start, serve]
}
