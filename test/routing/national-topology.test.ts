import t from 'tap'
import { simulateNationalTopology } from '../../bench/routing/national-topology.js'

// The simulation of docs/deployment.md at a small size: every pair reached through at most 3
// hubs, and a broken axis configuration is caught (the check can fail).
let seed = 7
const random = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }

t.test('small national topology: all pairs reached in <= 3 hubs', async (t) => {
  const report = simulateNationalTopology({ provinces: 5, ministries: 4, agencies: 500, samples: 300, random })
  t.same(report.failures, [])
  t.equal(report.hubs, 10)
  t.equal(report.agencies, 500)
  t.equal(report.hubPairsChecked, 81)
  t.equal(report.maxHubsOnPath, 3, 'sender hub -> axis -> recipient hub')
  t.ok(report.nsPerLookupAxis > 0)
})

t.test('an axis without the rule for H03: the agencies under H03 are reported unroutable', async (t) => {
  const report = simulateNationalTopology({ provinces: 5, ministries: 4, agencies: 500, samples: 0, random, breakAxisRuleFor: 'H03' })
  t.equal(report.failures.length, 8, 'every other hub to H03 (8 hubs; H03 itself delivers locally)')
  t.match(report.failures[0], /-> axis: 000\.\d+\.\d+\.H03 unroutable at axis/)
})
