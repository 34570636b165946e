import { Command, CommanderError } from 'commander'
import { ConfigError } from '../config/config.js'
import { agencyCommand } from './agency-command.js'
import { auditCommand } from './audit-command.js'
import { pkiCommand } from './pki-command.js'
import { receiptCommand } from './receipt-command.js'
import { signCommand } from './sign-command.js'
import { startCommands } from './start-command.js'
import { verifyCommand } from './verify-command.js'
import { workerCommand } from './worker-command.js'
import { deliveryCommand } from './delivery-command.js'
import { retentionCommand } from './retention-command.js'
import { vdxpSystemCommand } from './vdxp-system-command.js'
import { peerCommand, routeCommand } from './route-command.js'
import { tokenCommand, userCommand } from './user-command.js'
import { directoryCommand } from './directory-command.js'

// Each sub-command lives in its own file and only adds itself here.
const program = new Command()
  .name('lienthong')
  .description('Inter-agency edXML document exchange hub: verify, sign, run the hub')
  .showHelpAfterError()

for (const command of startCommands()) program.addCommand(command)
program.addCommand(workerCommand())
program.addCommand(deliveryCommand())
program.addCommand(verifyCommand())
program.addCommand(signCommand())
program.addCommand(pkiCommand())
program.addCommand(agencyCommand())
program.addCommand(auditCommand())
program.addCommand(receiptCommand())
program.addCommand(retentionCommand())
program.addCommand(vdxpSystemCommand())
program.addCommand(routeCommand())
program.addCommand(peerCommand())
program.addCommand(userCommand())
program.addCommand(tokenCommand())
program.addCommand(directoryCommand())
program.addCommand((await import('./demo-command.js')).demoCommand())

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
  process.stderr.write(`lienthong: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`)
  // Exit now: a half-started hub may hold worker threads or connections open.
  process.exit(2)
}
