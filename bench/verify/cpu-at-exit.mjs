// Loaded with `node --import` into each process bench/verify/cli-start.ts starts: appends the
// process's own CPU time (user + system, all threads, microseconds) to the file named by
// LIENTHONG_BENCH_CPU_LOG when it exits. A process's CPU time, unlike its wall time, hardly depends
// on what else a shared machine is running. (--import is an option of Node, not a V8 flag: the
// verify bundle's code cache is still taken.)
import { appendFileSync } from 'node:fs'

const log = process.env.LIENTHONG_BENCH_CPU_LOG
if (log != null) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage()
    appendFileSync(log, `${user + system}\n`)
  })
}
