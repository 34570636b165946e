import { Command } from 'commander'
import { pkiCommand } from './pki-command.js'

// Each sub-command lives in its own file and only adds itself here.
const program = new Command()
  .name('lienthong')
  .description('Inter-agency edXML document exchange hub: verify, sign, run the hub')
  .showHelpAfterError()

program.addCommand(pkiCommand())

await program.parseAsync(process.argv)
