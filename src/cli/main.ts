import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'

// Each sub-command lives in its own file and only adds itself here. The files are imported only
// when needed: `lienthong verify file.edxml` must not pay for loading fastify, bullmq, pg and
// PGlite (about 0.5 s of start-up), so a command line that names a command loads that command's
// file alone; help, a mistyped command or no command at all load them all (help lists every one).
type Commands = () => Promise<Command[]>
const COMMANDS: Record<string, Commands> = {
  start: async () => (await import('./start-command.js')).startCommands(),
  worker: async () => [(await import('./worker-command.js')).workerCommand()],
  delivery: async () => [(await import('./delivery-command.js')).deliveryCommand()],
  verify: async () => [(await import('./verify-command.js')).verifyCommand()],
  sign: async () => [(await import('./sign-command.js')).signCommand()],
  pki: async () => [(await import('./pki-command.js')).pkiCommand()],
  agency: async () => [(await import('./agency-command.js')).agencyCommand()],
  trust: async () => [(await import('./registry-command.js')).trustCommand()],
  registry: async () => [(await import('./registry-command.js')).registryCommand()],
  audit: async () => [(await import('./audit-command.js')).auditCommand()],
  receipt: async () => [(await import('./receipt-command.js')).receiptCommand()],
  retention: async () => [(await import('./retention-command.js')).retentionCommand()],
  'vdxp-system': async () => [(await import('./vdxp-system-command.js')).vdxpSystemCommand()],
  route: async () => [(await import('./route-command.js')).routeCommand()],
  peer: async () => [(await import('./route-command.js')).peerCommand()],
  user: async () => [(await import('./user-command.js')).userCommand()],
  token: async () => [(await import('./user-command.js')).tokenCommand()],
  directory: async () => [(await import('./directory-command.js')).directoryCommand()],
  demo: async () => [(await import('./demo-command.js')).demoCommand()]
}
/** Commands defined by another command's file (start-command.ts defines start and serve). */
const DEFINED_BY: Record<string, string> = { serve: 'start' }

/**
 * `lienthong verify` as one file (dist/verify-cli.cjs, made by `npm run build` from verify-main.ts,
 * compiled with its code cache by verify-bundle.ts): even alone, the command imports ~1,200
 * modules, and resolving and compiling them one by one was most of its start-up. Absent when
 * running from src/ (tsx), where the command loads as below. bin/lienthong.js goes to the bundle
 * without this file; this path serves `node dist/cli/main.js verify` (the tests).
 */
const DIST = fileURLToPath(new URL('../', import.meta.url))

const named = process.argv[2] ?? ''
if (named === 'verify' && existsSync(join(DIST, 'verify-cli.cjs'))) {
  await (await import('./verify-bundle.js')).runVerifyBundle(DIST)
} else {
  const only = COMMANDS[DEFINED_BY[named] ?? named]
  const commands: Command[] = []
  for (const load of only != null ? [only] : Object.values(COMMANDS)) commands.push(...await load())
  const { runProgram } = await import('./run-program.js')
  await runProgram(commands)
}
