// Loaded with `node --import` by test/cli/verify-start-up.test.ts: registers module-load-hooks.mjs,
// which appends the URL of every module the process resolves to the file in LIENTHONG_MODULE_LOG.
import { register } from 'node:module'

register(new URL('./module-load-hooks.mjs', import.meta.url), { data: { log: process.env.LIENTHONG_MODULE_LOG } })
