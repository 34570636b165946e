import { Command, CommanderError } from 'commander'

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

const program = new Command()
  .name('lienthong')
  .description('Inter-agency edXML document exchange hub: verify, sign, run the hub')
  .showHelpAfterError()

const named = process.argv[2] ?? ''
const only = COMMANDS[DEFINED_BY[named] ?? named]
for (const load of only != null ? [only] : Object.values(COMMANDS)) {
  for (const command of await load()) program.addCommand(command)
}

// Usage mistakes exit 2 like every operator error; 1 means "a document was rejected".
// exitOverride is not inherited by commands added with addCommand, so set it on each.
const overrideExits = (command: Command): void => {
  command.exitOverride()
  for (const sub of command.commands) overrideExits(sub)
}
overrideExits(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has already printed its message (and help, for help and version: exit 0).
    process.exit(err.exitCode === 0 ? 0 : 2)
  }
  // Operator mistakes (a missing file, a bad registry, bad configuration) get a message, not a
  // stack trace.
  process.stderr.write(`lienthong: ${(err as Error).message}\n`)
  // Exit now: a half-started hub may hold worker threads or connections open.
  process.exit(2)
}
