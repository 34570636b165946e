import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { PKI } from '../helpers/example-pki.js'

const demo = JSON.parse(readFileSync(join(PKI, 'registry.json'), 'utf8')) as { version: 1, agencies: unknown[] }
const FP = 'AB:'.repeat(31) + 'CD'
const peer = (id: string, extra: Record<string, unknown> = {}) => ({ id, url: `https://${id}.example:8443`, serverCertificates: [FP], clientCertificates: [FP], signingCertificates: [FP], ...extra })
const axis = { id: 'national-axis', endpoint: 'https://axis.example/vdxp', systemId: 'province-h98', secretFile: '/etc/lienthong/axis.secret' }
const load = (sections: Record<string, unknown>) => AgencyRegistry.fromJson({ ...demo, ...sections }, 'reg.json')

t.test('a registry with peers, upstreams and routes loads; fingerprints normalised, defaults filled', async (t) => {
  const registry = load({
    peers: [peer('hub-h98', { agencies: ['000.00.00.H98'], prefixes: ['H98'] })],
    upstreams: [axis],
    routes: { explicit: [{ code: '000.00.00.G01', to: { peer: 'hub-h98' } }], prefixes: [{ prefix: '0201.*', to: { upstream: 'national-axis' } }], default: { upstream: 'national-axis' } }
  })
  t.equal(registry.routing.peers[0]?.serverCertificates[0], 'ab'.repeat(31) + 'cd')
  t.same(registry.routing.routes.default, { upstream: 'national-axis' })
  t.equal(registry.routing.upstreams[0]?.secretFile, '/etc/lienthong/axis.secret')
  t.same(load({}).routing, { peers: [], upstreams: [], routes: { explicit: [], prefixes: [] } }, 'no sections: no routes')
})

const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
  ['a route to an undeclared peer', { routes: { explicit: [{ code: 'X1', to: { peer: 'nobody' } }] } }, /\/routes\/explicit\/0\/to no peer "nobody"/],
  ['a default to an undeclared upstream', { routes: { default: { upstream: 'axis' } } }, /\/routes\/default no upstream "axis"/],
  ['a peer listed twice', { peers: [peer('p1'), peer('p1')] }, /\/peers\/1\/id peer p1 is listed twice/],
  ['an upstream with its secret inline', { upstreams: [{ ...axis, secret: 's3cret' }] }, /\/upstreams\/0.*(additional|Unexpected)/i],
  ['an upstream naming no secret', { upstreams: [{ id: 'a', endpoint: 'https://a', systemId: 's' }] }, /\/upstreams\/0 upstream a needs exactly one of secretFile or secretEnv/],
  ['an upstream naming two secrets', { upstreams: [{ ...axis, secretEnv: 'AXIS_SECRET' }] }, /exactly one of secretFile or secretEnv/],
  ['a route to one of our own agencies', { peers: [peer('p1', { agencies: ['000.00.00.G22'] })] }, /\/peers\/0\/agencies\/0 000\.00\.00\.G22 is an agency of this hub/],
  ['a code routed twice', { peers: [peer('p1', { agencies: ['X1'] }), peer('p2', { agencies: ['X1'] })] }, /\/peers\/1\/agencies\/0 X1 is routed twice/],
  ['a prefix routed twice', { peers: [peer('p1', { prefixes: ['H98'] })], routes: { prefixes: [{ prefix: 'H98', to: { peer: 'p1' } }] } }, /\/peers\/0\/prefixes\/0 prefix H98 is routed twice/],
  ['a malformed prefix', { peers: [peer('p1')], routes: { prefixes: [{ prefix: '*.H98', to: { peer: 'p1' } }] } }, /\/routes\/prefixes\/0\/prefix "\*\.H98" is not a prefix rule/],
  ['"*" as a prefix', { peers: [peer('p1', { prefixes: ['*'] })] }, /default route, not a prefix rule/],
  ['a peer without a pinned server certificate', { peers: [peer('p1', { serverCertificates: [] })] }, /\/peers\/0\/serverCertificates/],
  ['a peer id in upper case', { peers: [peer('Hub1')] }, /\/peers\/0\/id/]
]
for (const [name, sections, message] of refusals) {
  t.test(`refused: ${name}`, async (t) => {
    t.throws(() => load(sections), { name: 'RegistryError', message })
  })
}
