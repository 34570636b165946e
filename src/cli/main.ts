import { Command } from 'commander'
import { pkiCommand } from './pki-command.js'
import { signCommand } from './sign-command.js'
import { verifyCommand } from './verify-command.js'

// Each sub-command lives in its own file and only adds itself here.
const program = new Command()
  .name('lienthong')
  .description('Inter-agency edXML document exchange hub: verify, sign, run the hub')
  .showHelpAfterError()

program.addCommand(verifyCommand())
program.addCommand(signCommand())
program.addCommand(pkiCommand())

try {
  await program.parseAsync(process.argv)
} catch (err) {
  // Operator mistakes (a missing file, a bad registry) get one line, not a stack trace.
  process.stderr.write(`lienthong: ${(err as Error).message}\n`)
  process.exitCode = 2
}
