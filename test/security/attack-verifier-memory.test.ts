import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { envelopeKeepPolicy } from '../../src/edxml/envelope-schema.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { parseXml } from '../../src/xmldsig/parse.js'
import type { XmlElement, XmlNode } from '../../src/xmldsig/xml-tree.js'
import { FIXTURES, examplePolicy } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { signedDocument, SENDER } from '../helpers/ops-fixtures.js'

// Issue 15 outsider review, finding V1 (high: memory exhaustion by any authenticated agency).
// The tree keeps the first ds:Signature whole, and kept text as one object per piece the
// tokenizer hands on: a slice between two `>` (or CRs), or a string per reference. 5 MB of
// `a>` inside SignatureValue made 2.6 million Buffer views (about 110 bytes of heap per input
// byte: 500 MB for 5 MB, 1.1 GB for 10 MB, so the 50 MB cap meant over 5 GB per document), and
// `a<!---->` made a text node and a comment node per 8 bytes (340 MB for 5 MB), all before the
// profile check that refuses them. Measured with scratch/mem.ts-style runs (`/usr/bin/time`, one
// verifyDocument per process). The test counts what the tree keeps (no memory or time is
// measured here): kept text is a few pieces per 4 KB, and a signature holding thousands of
// nodes is refused while it is parsed.

const good = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'), 'utf8')
const MB = 1 << 20

function inSignatureValue (filler: string, bytes: number): Buffer {
  const out = good.replace('<SignatureValue>', '<SignatureValue>' + filler.repeat(Math.floor(bytes / Buffer.byteLength(filler))))
  if (out === good) throw new Error('no SignatureValue')
  return Buffer.from(out)
}

function inFirstTo (filler: string, bytes: number): Buffer {
  const out = good.replace('<edXML:To>', '<edXML:To>' + filler.repeat(Math.floor(bytes / Buffer.byteLength(filler))))
  if (out === good) throw new Error('no To')
  return Buffer.from(out)
}

/** Every kept node and every piece of kept text, over the whole tree. */
function keptCounts (root: XmlElement): { nodes: number, pieces: number } {
  let nodes = 0
  let pieces = 0
  const walk = (n: XmlNode): void => {
    nodes++
    if (n.kind === 'text') pieces += n.pieces.length
    if (n.kind === 'element') for (const c of n.children) walk(c)
  }
  walk(root)
  return { nodes, pieces }
}

const textShapes: { name: string, bytes: Buffer }[] = [
  { name: '`a>` in SignatureValue', bytes: inSignatureValue('a>', 2 * MB) },
  { name: '`a` CR in SignatureValue', bytes: inSignatureValue('a\r', 2 * MB) },
  { name: '`a` CR LF in SignatureValue', bytes: inSignatureValue('a\r\n', 2 * MB) },
  { name: '`&#65;` in SignatureValue', bytes: inSignatureValue('&#65;', 2 * MB) },
  { name: 'CDATA sections in SignatureValue', bytes: inSignatureValue('<![CDATA[a]]>', 2 * MB) },
  { name: '`a>` between the children of a kept To', bytes: inFirstTo('a>', 2 * MB) }
]

t.test('V1: kept text is a few pieces per 4 KB, whatever splits it', async (t) => {
  for (const shape of textShapes) {
    const doc = parseXml(shape.bytes, { keep: envelopeKeepPolicy(), processingInstructions: 'refuse' })
    const { pieces } = keptCounts(doc.root)
    // The honest document keeps a few hundred pieces; one per 4 KB of hostile input is the bound.
    t.ok(pieces < 1000 + shape.bytes.length / 4096, `${shape.name}: ${pieces} pieces kept for ${shape.bytes.length} bytes`)
  }
})

t.test('V1: the verdicts are unchanged (each is still refused by the profile, with its code)', async (t) => {
  const policy = await examplePolicy()
  for (const shape of textShapes) {
    const verdict = await verifyDocument(shape.bytes, policy)
    t.match(verdict, { verdict: 'rejected', code: shape.name.includes('To') ? 'DIGEST_MISMATCH' : 'SIGNATURE_MALFORMED' }, shape.name)
  }
})

const nodeShapes: { name: string, bytes: Buffer }[] = [
  { name: 'comments between text in SignatureValue', bytes: inSignatureValue('a<!---->', 2 * MB) },
  { name: 'comments alone in KeyInfo', bytes: Buffer.from(good.replace('<KeyInfo>', '<KeyInfo>' + '<!---->'.repeat(300_000))) },
  { name: 'empty CDATA and comments in SignedInfo', bytes: Buffer.from(good.replace('<SignedInfo>', '<SignedInfo>' + ' <!--x--><![CDATA[]]>'.repeat(100_000))) }
]

t.test('V1: a signature holding thousands of nodes is refused while parsing, as too large', async (t) => {
  const policy = await examplePolicy()
  for (const shape of nodeShapes) {
    const verdict = await verifyDocument(shape.bytes, policy)
    t.match(verdict, { verdict: 'rejected', code: 'XML_LIMIT_EXCEEDED' }, shape.name)
  }
  t.equal((await verifyDocument(Buffer.from(good), policy)).verdict, 'accepted', 'control: the original is accepted')
})

t.test('V1 over HTTP: the hostile shapes are problems with their codes and a log entry, never a 500', async (t) => {
  const hub = await testHub(t)
  const genuine = signedDocument(15_001).bytes.toString('utf8')
  const rows: { name: string, body: string, code: string, status: number }[] = [
    { name: '`a>` in SignatureValue', body: genuine.replace(/<SignatureValue>/, `<SignatureValue>${'a>'.repeat(MB / 2)}`), code: 'SIGNATURE_MALFORMED', status: 422 },
    { name: 'comments in SignatureValue', body: genuine.replace(/<SignatureValue>/, `<SignatureValue>${'a<!---->'.repeat(MB / 8)}`), code: 'XML_LIMIT_EXCEEDED', status: 400 }
  ]
  for (const row of rows) {
    t.not(row.body, genuine, `${row.name}: mutated`)
    const res = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${hub.keys[SENDER]}`, 'content-type': 'application/xml' }, payload: row.body })
    t.equal(res.statusCode, row.status, `${row.name}: ${res.statusCode}`)
    t.match(res.json(), { code: row.code, signatureLogEntry: Number }, row.name)
  }
})
