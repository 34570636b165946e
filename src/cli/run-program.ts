import { Command, CommanderError } from 'commander'

/**
 * Runs `lienthong` with the given commands: the one place that decides exit codes, shared by the
 * full CLI (main.ts) and the bundled verify entry (verify-main.ts).
 */
export async function runProgram (commands: Command[]): Promise<void> {
  const program = new Command()
    .name('lienthong')
    .description('Inter-agency edXML document exchange hub: verify, sign, run the hub')
    .showHelpAfterError()
  for (const command of commands) program.addCommand(command)

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
}
