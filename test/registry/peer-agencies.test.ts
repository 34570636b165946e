import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import type { AgencyEntry, RegistryFile } from '../../src/registry/registry-format.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { examplePolicy, PKI } from '../helpers/example-pki.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// `peerAgencies` (issue 13): agencies served by peer hubs, listed only so that what they sign
// binds to them when a peer forwards it. Never local agencies: not in all() (so never seeded as
// recipients or credential holders), not in get().

const H41 = '000.00.00.H41'
const G12 = '000.00.00.G12'
const demo = JSON.parse(readFileSync(join(PKI, 'registry.json'), 'utf8')) as RegistryFile
const entryOf = (code: string): AgencyEntry => demo.agencies.find((a) => a.code === code) as AgencyEntry
/** H41's binding fields, as a peer agency. */
const h41 = (() => {
  const { code, name, certificates, subjectRule, allowWeakAlgorithms } = entryOf(H41)
  return { code, name, certificates, allowWeakAlgorithms, ...(subjectRule != null ? { subjectRule } : {}) }
})()

t.test('a peer agency binds signers but is no agency of this hub', async (t) => {
  const registry = AgencyRegistry.fromJson({ version: 1, agencies: [entryOf(G12)], peerAgencies: [h41] })
  t.same(registry.all().map((a) => a.code), [G12], 'all(): the local agencies only (what is seeded into the agencies table)')
  t.equal(registry.get(H41), undefined, 'get(): local agencies only')
  t.equal(registry.signer(H41)?.code, H41, 'signer(): the peer agency')
  t.equal(registry.signer(G12)?.code, G12, 'signer(): a local agency too')
  t.equal(registry.signer('000.00.00.X99'), undefined, 'signer(): nobody else')
})

t.test('bad peerAgencies: RegistryError naming the path', async (t) => {
  const cases: Array<[string, unknown[], RegExp]> = [
    ['a code that is also a local agency', [{ ...h41, code: G12 }], /\/peerAgencies\/0\/code 000\.00\.00\.G12 is an agency of this hub/],
    ['listed twice', [h41, h41], /\/peerAgencies\/1\/code agency 000\.00\.00\.H41 is listed twice/],
    ['neither certificates nor a rule', [{ code: H41, name: 'x' }], /\/peerAgencies\/0 agency 000\.00\.00\.H41 has neither certificates nor a subjectRule/],
    ['an unknown subject attribute', [{ code: H41, name: 'x', subjectRule: { NOPE: 'y' } }], /\/peerAgencies\/0\/subjectRule\/NOPE unknown subject attribute/],
    ['a delivery (a peer agency has none here)', [{ ...h41, delivery: { mode: 'pull' } }], /\/peerAgencies\/0/]
  ]
  for (const [name, peerAgencies, message] of cases) {
    t.throws(() => AgencyRegistry.fromJson({ version: 1, agencies: [entryOf(G12)], peerAgencies }, 'test-registry'), { name: 'RegistryError', message }, name)
  }
})

t.test('verification: a document signed by a peer agency binds only through peerAgencies', async (t) => {
  const doc = documentFromTo(H41, G12, 41)
  const cases: Array<[string, RegistryFile, string]> = [
    ['listed as a peer agency', { version: 1, agencies: [entryOf(G12)], peerAgencies: [h41] }, 'accepted'],
    ['not listed at all', { version: 1, agencies: [entryOf(G12)] }, 'AGENCY_UNKNOWN'],
    ['listed with another agency\'s certificate only', { version: 1, agencies: [entryOf(G12)], peerAgencies: [{ code: H41, name: 'x', certificates: entryOf(G12).certificates, allowWeakAlgorithms: true }] }, 'SENDER_MISMATCH']
  ]
  for (const [name, file, expected] of cases) {
    const verdict = await verifyDocument(doc, await examplePolicy({ registry: AgencyRegistry.fromJson(file) }))
    t.equal(verdict.verdict === 'accepted' ? 'accepted' : verdict.code, expected, name)
  }
})
