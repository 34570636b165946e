/**
 * Outsider review of the peer surfaces (attack-vdxp session), finding P1 (medium: memory per byte
 * of a peer's directory). A peer's directory (cap LIENTHONG_DIRECTORY_MAX_BYTES, 4 MB) was parsed
 * into a full tree before its signature was looked at, comments included: `<!---->x` made a
 * comment node and a text node per 8 bytes, 178 MB of heap and 287 MB peak RSS for 4 MB
 * (refreshDirectories verifies every peer's directory concurrently, so per peer). Anyone who can
 * serve bytes at a peer's pinned directory URL (the peer, or whoever controls its web server) can
 * send it; nothing signed is needed. Expected: comments, which the digest and readDirectory
 * ignore, are not kept. Measured in a child process (peak RSS of one verifyDirectory): the child
 * holds nothing else, so its peak is the parse.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { TrustStore } from '../../src/pki/trust-store.js'
import type { HubDirectory } from '../../src/routing/directory/directory-format.js'
import { parseDirectoryTree, signDirectory, verifyDirectory } from '../../src/routing/directory/directory-signature.js'
import type { XmlNode } from '../../src/xmldsig/xml-tree.js'
import { exampleHubIdentity } from '../helpers/hub.js'
import { PKI } from '../helpers/example-pki.js'

const MAX = 4 * 1024 * 1024
const NS = 'urn:lienthong:directory:1'
const now = new Date()

/** A 4 MB directory-shaped document of `<!---->x`: no signature, no agency, only nodes. */
function commentFlood (): Buffer {
  const open = `<HubDirectory xmlns="${NS}" version="1">`
  const close = '</HubDirectory>'
  return Buffer.from(open + '<!---->x'.repeat(Math.floor((MAX - open.length - close.length) / 8)) + close)
}

function countNodes (nodes: readonly XmlNode[]): number {
  let n = 0
  for (const node of nodes) {
    n++
    if (node.kind === 'element') n += countNodes(node.children)
  }
  return n
}

t.test('P1: the comments of a 4 MB peer directory are not kept (peak RSS of one verification)', async (t) => {
  // The child runs the verifier exactly as refreshDirectories does (after the capped fetch).
  const script = `
    import { verifyDirectory } from ${JSON.stringify(join(process.cwd(), 'src/routing/directory/directory-signature.ts'))}
    import { TrustStore } from ${JSON.stringify(join(process.cwd(), 'src/pki/trust-store.ts'))}
    const NS = ${JSON.stringify(NS)}
    const open = '<HubDirectory xmlns="' + NS + '" version="1">'
    const close = '</HubDirectory>'
    const bytes = Buffer.from(open + '<!---->x'.repeat(Math.floor((${MAX} - open.length - close.length) / 8)) + close)
    const store = await TrustStore.load(${JSON.stringify(join(PKI, 'trust'))})
    const base = process.resourceUsage().maxRSS
    let code = 'ACCEPTED'
    try { await verifyDirectory(bytes, store, { signer: { fingerprintsSha256: ['${'0'.repeat(64)}'] }, now: new Date(), requireRevocation: false }) } catch (err) { code = err.code ?? String(err) }
    console.log(JSON.stringify({ code, baseKb: base, peakKb: process.resourceUsage().maxRSS }))
  `
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), maxBuffer: 1 << 20 })
  const result = JSON.parse(stdout.trim().split('\n').at(-1) as string) as { code: string, baseKb: number, peakKb: number }
  t.equal(result.code, 'DIRECTORY_INVALID', 'refused: no signature')
  // Before the fix the parse alone grew the peak by about 230 MB; after it, by under 30 MB.
  // 100 MB leaves room for the collector's timing on a loaded machine and still fails the old code.
  const grewMb = (result.peakKb - result.baseKb) / 1024
  t.ok(grewMb < 100, `peak RSS grew by ${grewMb.toFixed(0)} MB for a 4 MB directory (base ${(result.baseKb / 1024).toFixed(0)} MB)`)
})

t.test('P1: the tree holds a handful of nodes for 4 MB of comments', async (t) => {
  const doc = parseDirectoryTree(commentFlood())
  t.ok(countNodes([doc.root]) < 10, `${countNodes([doc.root])} nodes kept`)
})

t.test('P1 (held, control): comments in a genuine directory change nothing that is read', async (t) => {
  const store = await TrustStore.load(join(PKI, 'trust'))
  const hub = await exampleHubIdentity()
  const directory: HubDirectory = {
    hubId: 'hub',
    version: 7,
    issuedAt: new Date(now.getTime() - 60_000),
    validUntil: new Date(now.getTime() + 3_600_000),
    agencies: [
      { code: '000.00.31.H98', name: 'Sở Nội vụ', receives: 'push', signerFingerprints: ['a'.repeat(64)] },
      { code: '000.00.32.H98', name: 'Sở Tư pháp', receives: 'pull', signerFingerprints: ['b'.repeat(64)] }
    ]
  }
  const genuine = signDirectory(directory, hub)
  const pin = { fingerprintsSha256: [hub.fingerprintSha256] }
  // Comments are outside the digest (URI="" selects the document without comments): inserting
  // them after signing keeps the signature valid, and must keep the content the same.
  const commented = genuine
    .replace('<Agencies>', '<Agencies><!-- a -->')
    .replace('Sở Nội vụ', 'Sở <!-- x -->Nội vụ')
    .replace('</HubDirectory>', '<!-- tail --></HubDirectory>')
  t.not(commented, genuine)
  const verified = await verifyDirectory(Buffer.from(commented), store, { signer: pin, now, requireRevocation: false })
  t.same(verified.directory.agencies, directory.agencies, 'the same agencies, the name read as it was signed')
  // Text split by a comment is joined: an added comment cannot change what is read into
  // something other than what was digested.
  const renamed = genuine.replace('Sở Nội vụ', 'Sở Nội<!-- -->X')
  await t.rejects(verifyDirectory(Buffer.from(renamed), store, { signer: pin, now, requireRevocation: false }), { code: 'DIRECTORY_SIGNATURE_INVALID' }, 'changed text is still a digest mismatch')
})
