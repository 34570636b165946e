import { runProgram } from './run-program.js'
import { verifyCommand } from './verify-command.js'

// `lienthong verify` alone. `npm run build` bundles this file with everything it imports into
// dist/verify-cli.cjs, which verify-bundle.ts compiles (with its V8 code cache) and runs for
// `lienthong verify`: one file instead of ~1,200 modules (the registry's validation library alone
// is ~900), the largest part of the command's start-up. The same command as in main.ts, the same
// exit codes.
export async function runVerify (): Promise<void> {
  await runProgram([verifyCommand()])
}
