import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { simulateNationalTopology } from './national-topology.js'

// npm run simulate:routes [-- --agencies 100000 --provinces 34 --ministries 30 --samples 20000]
// Exit 0 when every checked pair is reached through at most 3 hubs, 1 otherwise.
const { values } = parseArgs({
  options: {
    agencies: { type: 'string', default: '100000' },
    provinces: { type: 'string', default: '34' },
    ministries: { type: 'string', default: '30' },
    samples: { type: 'string', default: '20000' }
  }
})
const report = simulateNationalTopology({
  agencies: Number(values.agencies), provinces: Number(values.provinces), ministries: Number(values.ministries), samples: Number(values.samples)
})
process.stdout.write([
  `national topology: 1 axis + ${report.hubs - 1} hubs (${values.provinces} provinces, ${values.ministries} ministries), ${report.agencies} agencies`,
  `checked ${report.pairsChecked} random agency pairs + ${report.hubPairsChecked} hub pairs: ${report.failures.length} failures, at most ${report.maxHubsOnPath} hubs on a path (sender's hub -> axis -> recipient's hub)`,
  `route lookup: ${report.nsPerLookupAxis.toFixed(0)} ns at the axis (prefix rules), ${report.nsPerLookupProvince.toFixed(0)} ns at a provincial hub (local set + default)`,
  `route tables and local sets: ${(report.tableHeapBytes / 1024 / 1024).toFixed(1)} MiB of heap${global.gc == null ? ' (approximate: run with node --expose-gc for a settled figure)' : ''}`,
  `load average: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  ...report.failures.slice(0, 20).map((f) => `FAIL ${f}`)
].join('\n') + '\n')
process.exitCode = report.failures.length === 0 ? 0 : 1
