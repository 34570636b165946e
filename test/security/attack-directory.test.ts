/**
 * Outsider attacks on the signed hub directory's verifier (docs/directory.md), with real keys of
 * the example PKI: what a peer, an agency holding a trusted certificate, or anyone able to alter
 * bytes on the way could try. The fetch (pinned TLS, size cap) and the refresh rules (rollback,
 * reuse, staleness) have their own end-to-end test (test/routing/directory-exchange.test.ts).
 */
import t from 'tap'
import { join } from 'node:path'
import { loadHubIdentity, type HubIdentity } from '../../src/evidence/hub-identity.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { buildDirectoryXml, readDirectory, type HubDirectory } from '../../src/routing/directory/directory-format.js'
import { signDirectory, verifyDirectory } from '../../src/routing/directory/directory-signature.js'
import { DirectoryRefusal } from '../../src/routing/directory/directory-refusal.js'
import { EXC_C14N } from '../../src/xmldsig/c14n.js'
import { readPemBlocks } from '../../src/pki/pem.js'
import { RSA_SHA256, SHA256 } from '../../src/xmldsig/signature-profile.js'
import { signXml } from '../../src/xmldsig/sign.js'
import { parseXml } from '../../src/xmldsig/parse.js'
import { DirectorySnapshot } from '../../src/routing/directory/directory-provider.js'
import type { AcceptedDirectory } from '../../src/store/peer-directories.js'
import { exampleHubIdentity } from '../helpers/hub.js'
import { PKI } from '../helpers/example-pki.js'

const now = new Date()
const directory = (agencies: HubDirectory['agencies'] = [{ code: '000.00.31.H98', name: 'Sở Nội vụ', receives: 'push', signerFingerprints: ['a'.repeat(64)] }]): HubDirectory =>
  ({ hubId: 'hub', version: 3, issuedAt: new Date(now.getTime() - 60_000), validUntil: new Date(now.getTime() + 3_600_000), agencies })

/** Signs any XML in the directory's profile with `who` (what a holder of that key can produce). */
function signRaw (xml: string, who: HubIdentity): string {
  return signXml(xml, {
    privateKey: who.privateKey,
    certificates: readPemBlocks(who.certificatePem).filter((b) => b.label === 'CERTIFICATE').map((b) => Buffer.from(b.der).toString('base64')),
    signatureMethod: RSA_SHA256,
    digestMethod: SHA256,
    canonicalization: EXC_C14N,
    referenceUri: '',
    place: (d) => ({ append: d.root })
  })
}

async function refusal (bytes: string | Buffer, store: TrustStore, pin: { fingerprintsSha256?: string[], subjectUid?: string }): Promise<string> {
  try {
    await verifyDirectory(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes), store, { signer: pin, now, requireRevocation: false })
    return 'ACCEPTED'
  } catch (err) {
    if (err instanceof DirectoryRefusal) return err.code
    throw err
  }
}

t.test('attacks on the directory verifier', async (t) => {
  const store = await TrustStore.load(join(PKI, 'trust'))
  const hub = await exampleHubIdentity()
  const agency = await loadHubIdentity({
    keyFile: join(PKI, 'agencies', '000.00.00.H41', 'key.pem'),
    certFile: join(PKI, 'agencies', '000.00.00.H41', 'cert.pem'),
    chainFile: join(PKI, 'agencies', '000.00.00.H41', 'chain.pem')
  })
  const pin = { fingerprintsSha256: [hub.fingerprintSha256] }
  const genuine = signDirectory(directory(), hub)
  t.equal(await refusal(genuine, store, pin), 'ACCEPTED', 'control: the hub\'s own directory verifies')

  const unsigned = buildDirectoryXml(directory())
  const body = unsigned.replace(/^<\?xml[^>]*\?>\n/, '')
  const deep = '<a>'.repeat(5000) + '</a>'.repeat(5000)
  const cases: Array<{ name: string, bytes: string | Buffer, pin?: typeof pin | { subjectUid: string }, code: string }> = [
    { name: 'signed by an agency certificate (trusted, same anchors) instead of the hub\'s', bytes: signDirectory(directory(), agency), code: 'DIRECTORY_SIGNER_NOT_PEER' },
    { name: 'an agency certificate, the peer pinned by the hub\'s subject UID', bytes: signDirectory(directory(), agency), pin: { subjectUid: '000.00.00.HUB' }, code: 'DIRECTORY_SIGNER_NOT_PEER' },
    { name: 'unsigned', bytes: unsigned, code: 'DIRECTORY_INVALID' },
    { name: 'an agency added after signing', bytes: genuine.replace('</Agencies>', '<Agency><Code>000.00.00.H41</Code><Name>x</Name><Receives>push</Receives><Signers><Fingerprint>' + 'b'.repeat(64) + '</Fingerprint></Signers></Agency></Agencies>'), code: 'DIRECTORY_SIGNATURE_INVALID' },
    { name: 'wrapping: the genuine signed directory hidden under an attacker\'s root', bytes: `<HubDirectory xmlns="urn:lienthong:directory:1" version="1"><Wrapped>${genuine.replace(/^<\?xml[^>]*\?>\n/, '')}</Wrapped></HubDirectory>`, code: 'DIRECTORY_INVALID' },
    { name: 'wrapping: a second, unsigned directory beside the signed one', bytes: genuine + body, code: 'DIRECTORY_INVALID' },
    { name: 'a DOCTYPE with an entity (billion laughs, XXE)', bytes: genuine.replace('<HubDirectory', '<!DOCTYPE HubDirectory [<!ENTITY x "000.00.00.H41">]>\n<HubDirectory'), code: 'DIRECTORY_INVALID' },
    { name: 'a processing instruction inside a signed name', bytes: genuine.replace('Sở Nội vụ', 'Sở <?x y?>Nội vụ'), code: 'DIRECTORY_INVALID' },
    { name: 'deeply nested', bytes: genuine.replace('</Agencies>', `</Agencies>${deep}`), code: 'DIRECTORY_INVALID' },
    { name: 'an element of another namespace, signed by the hub itself', bytes: signRaw(unsigned.replace('<Receives>', '<x:Endpoint xmlns:x="urn:evil">https://evil</x:Endpoint><Receives>'), hub), code: 'DIRECTORY_INVALID' },
    { name: 'the root in another namespace, signed by the hub', bytes: signRaw(unsigned.replace('urn:lienthong:directory:1', 'urn:lienthong:directory:2'), hub), code: 'DIRECTORY_INVALID' },
    { name: 'a foreign attribute, signed by the hub', bytes: signRaw(unsigned.replace('<Agency>', '<Agency xmlns:x="urn:evil" x:serves="*">'), hub), code: 'DIRECTORY_INVALID' },
    { name: 'UTF-16 declared after signing', bytes: genuine.replace('encoding="UTF-8"', 'encoding="UTF-16"'), code: 'DIRECTORY_INVALID' },
    { name: 'a signed receipt-shaped document that is not a directory', bytes: signRaw('<Receipt xmlns="urn:lienthong:receipt:1"><HubId>hub</HubId></Receipt>', hub), code: 'DIRECTORY_INVALID' }
  ]
  for (const c of cases) t.equal(await refusal(c.bytes, store, c.pin ?? pin), c.code, c.name)
})

t.test('injection through agency names: markup in a name stays text, one agency in, one agency out', async (t) => {
  const hub = await exampleHubIdentity()
  const store = await TrustStore.load(join(PKI, 'trust'))
  const names = [
    '</Name><Code>000.00.00.H41</Code><Name>x',
    ']]><Agency>',
    '&amp; &lt;Code&gt;',
    'a\nb',
    'Ủy ban <script>alert(1)</script>'
  ]
  for (const name of names) {
    const signed = signDirectory(directory([{ code: '000.00.31.H98', name, receives: 'pull', signerFingerprints: ['c'.repeat(64)] }]), hub)
    const { directory: read } = await verifyDirectory(Buffer.from(signed), store, { signer: { fingerprintsSha256: [hub.fingerprintSha256] }, now, requireRevocation: false })
    t.same(read.agencies.map((a) => [a.code, a.name]), [['000.00.31.H98', name]], `${JSON.stringify(name)}: read back exactly, no second agency`)
  }
  t.throws(() => buildDirectoryXml(directory([{ code: '000.00.31.H98', name: 'a\r\nb', receives: 'push', signerFingerprints: ['c'.repeat(64)] }])), 'a CR cannot be published (a parser would read it back as LF)')
  t.throws(() => buildDirectoryXml(directory([{ code: '000.00.31.H98', name: 'x\u0000y', receives: 'push', signerFingerprints: ['c'.repeat(64)] }])), 'a NUL cannot be published')
  t.throws(() => buildDirectoryXml(directory([{ code: '000.00.31.H98 ', name: 'x', receives: 'push', signerFingerprints: ['c'.repeat(64)] }])), 'a code with a space cannot be published')
})

t.test('codes that confuse the matcher: a peer listing a case or width variant of a code', async (t) => {
  // The directory format admits lower-case letters in codes (AGENCY_CODE), and codes are matched
  // exactly, so a peer may list 000.00.00.h41 beside our 000.00.00.H41: a document misaddressed
  // in lower case would leave for that peer instead of being refused as unroutable.
  const root = parseXml(Buffer.from(buildDirectoryXml(directory([{ code: '000.00.00.h41', name: 'look-alike', receives: 'push', signerFingerprints: ['d'.repeat(64)] }])))).root
  t.equal(readDirectory(root).agencies[0]?.code, '000.00.00.h41', 'the format reads a lower-case code (as it stands)')
  t.throws(() => buildDirectoryXml(directory([{ code: '000.00.00.Ｈ41', name: 'fullwidth', receives: 'push', signerFingerprints: ['d'.repeat(64)] }])), 'a full-width letter is not a code')
  t.throws(() => buildDirectoryXml(directory([{ code: '000..00.H41', name: 'empty group', receives: 'push', signerFingerprints: ['d'.repeat(64)] }])), 'an empty group is not a code')
  // Codes match exactly (route-pattern.ts), so a look-alike in another letter case is refused
  // where it could capture something: a peer's listing equal to one of our agencies ignoring case
  // is left out (the refresh logs it as DIRECTORY_CODE_LOCAL, test/routing/directory-exchange),
  // case variants listed by two peers are a conflict believed from neither, and a recipient To
  // equal to a local agency ignoring case is refused at acceptance (RECIPIENT_CASE_MISMATCH,
  // test/routing/route-acceptance).
  const held = (hubId: string, codes: string[]): AcceptedDirectory =>
    ({ ...directory(codes.map((code) => ({ code, name: code, receives: 'push', signerFingerprints: ['d'.repeat(64)] }))), hubId, sha256: 'a'.repeat(64), signerFingerprint: 'b'.repeat(64), acceptedAt: now })
  const snapshot = new DirectorySnapshot([held('hub-b', ['000.00.00.h41', '000.00.31.h98', '000.00.00.G12']), held('hub-c', ['000.00.31.H98'])], ['000.00.00.H41'])
  const signer = { fingerprintSha256: 'd'.repeat(64), subject: new Map<string, string[]>() }
  const cases: Array<[string, string, unknown]> = [
    ['a peer\'s case variant of our agency routes nothing', '000.00.00.h41', { found: false, why: 'unlisted', hubIds: [] }],
    ['our agency in its exact case is not the peer\'s either', '000.00.00.H41', { found: false, why: 'unlisted', hubIds: [] }],
    ['two peers listing case variants of one code: believed from neither', '000.00.31.H98', { found: false, why: 'conflict', hubIds: ['hub-b', 'hub-c'] }],
    ['... in either spelling', '000.00.31.h98', { found: false, why: 'conflict', hubIds: ['hub-b', 'hub-c'] }],
    ['a case variant nobody lists is not the listed code', '000.00.00.g12', { found: false, why: 'unlisted', hubIds: [] }],
    ['control: an exact code listed by one peer', '000.00.00.G12', { found: true, hubId: 'hub-b', version: 3 }]
  ]
  for (const [name, code, expected] of cases) t.same(snapshot.lookup(code, now), expected, name)
  t.match(snapshot.signerBinding('000.00.00.h41', signer, { now }), { bound: false, code: 'DIRECTORY_AGENCY_UNKNOWN' }, 'no signer binds for a look-alike of our agency')
  t.match(snapshot.signerBinding('000.00.31.h98', signer, { now }), { bound: false, code: 'DIRECTORY_CONFLICT' }, 'nor for a contested code')
  t.match(snapshot.signerBinding('000.00.00.G12', signer, { now }), { bound: true, hubId: 'hub-b' }, 'control: the exact listing binds')
})
