import t from 'tap'
import { parseXml, DEFAULT_PARSE_LIMITS, XmlRefusal } from '../../src/xmldsig/parse.js'
import { C14N_10, C14N_10_COMMENTS, EXC_C14N, EXC_C14N_COMMENTS, canonicalize } from '../../src/xmldsig/c14n.js'
import { StreamingCanonicalizer } from '../../src/xmldsig/stream-c14n.js'
import { XmlTokenizer } from '../../src/xmldsig/xml-tokenizer.js'
import type { XmlDocument, XmlElement } from '../../src/xmldsig/xml-tree.js'
import { sampleDocuments } from './generate-xml.js'
import { fileInputs, shapeInputs } from './differential-cases.js'

// The streamed canonicalizer (stream-c14n.ts, what verifyDocument digests while parsing) must
// write exactly the bytes of the tree canonicalizer (c14n.ts, itself proven identical to libxml2
// by c14n-libxml2-differential*.test.ts) for every node set a streamed digest can be asked for:
// the four methods over the whole document, the document minus one element's subtree (the
// enveloped signature), exclusive C14N with a PrefixList; and, without comments, the root element
// as apex (Reference URI="#rootId") gives the same bytes as the whole document (URI="") once
// processing instructions are refused, which is why one stream serves both.
//
// Inputs: every XML file of test/fixtures, the shapes of issue 9, and STREAM_C14N_DOCS (default
// 16,000) documents of the seeded generator (SEED overrides the seed): over 100,000 cases.

const SEED = process.env.SEED !== undefined ? Number(process.env.SEED) : 20261207
const COUNT = Number(process.env.STREAM_C14N_DOCS ?? 16000)
const METHODS = [C14N_10, C14N_10_COMMENTS, EXC_C14N, EXC_C14N_COMMENTS]
const LIMITS = { ...DEFAULT_PARSE_LIMITS }

function streamed (xml: Buffer, method: string, exclude: number | undefined, inclusivePrefixes: string[] = []): string {
  const parts: string[] = []
  const canonicalizer = new StreamingCanonicalizer((c) => { parts.push(typeof c === 'string' ? c : c.toString('utf8')) }, {
    method,
    inclusivePrefixes,
    ...(exclude !== undefined ? { exclude: (_tag, index) => index === exclude } : {})
  })
  new XmlTokenizer(xml, canonicalizer, { limits: LIMITS, keepProcessingInstructions: true }).run()
  return parts.join('')
}

function elementAt (doc: XmlDocument, path: number[] | undefined): XmlElement | undefined {
  if (path === undefined) return undefined
  let e: XmlElement | undefined = doc.root
  for (const i of path) e = e?.children.filter((c): c is XmlElement => c.kind === 'element')[i]
  return e
}

interface Tally { cases: number, mismatches: string[] }

function compare (name: string, xml: Buffer, excludePath: number[] | undefined, prefixes: string[], tally: Tally): void {
  let doc: XmlDocument
  try {
    doc = parseXml(xml, { processingInstructions: 'keep' })
  } catch (err) {
    if (err instanceof XmlRefusal) return
    throw err
  }
  const excluded = elementAt(doc, excludePath) ?? doc.elements.find((e) => e.local === 'Signature')
  const excludeIndex = excluded !== undefined ? doc.elements.indexOf(excluded) : undefined
  const check = (label: string, expected: string, actual: string): void => {
    tally.cases++
    if (expected !== actual && tally.mismatches.length < 5) {
      let at = 0
      while (at < expected.length && expected[at] === actual[at]) at++
      tally.mismatches.push(`${name}, ${label}: first difference at ${at}\n  tree:     ${JSON.stringify(expected.slice(Math.max(0, at - 60), at + 60))}\n  streamed: ${JSON.stringify(actual.slice(Math.max(0, at - 60), at + 60))}\n  input: ${JSON.stringify(xml.toString('utf8').slice(0, 2000))}`)
    }
  }
  const hasTopLevelPi = doc.children.some((c) => c.kind === 'pi')
  for (const method of METHODS) {
    check(`${method}, whole document`, canonicalize(doc, { method }), streamed(xml, method, undefined))
    if (excluded !== undefined) {
      const minus = streamed(xml, method, excludeIndex)
      check(`${method}, minus <${excluded.qname}>`, canonicalize(doc, { method, exclude: excluded }), minus)
      if (!hasTopLevelPi && (method === C14N_10 || method === EXC_C14N)) {
        check(`${method}, minus <${excluded.qname}>, root as apex`, canonicalize(doc, { method, apex: doc.root, exclude: excluded }), minus)
      }
    }
  }
  if (prefixes.length > 0) {
    check(`exclusive, PrefixList ${prefixes.join(' ')}`, canonicalize(doc, { method: EXC_C14N, exclude: excluded, inclusivePrefixes: prefixes }), streamed(xml, EXC_C14N, excludeIndex, prefixes))
  }
}

t.test('fixtures and issue 9 shapes: streamed C14N = tree C14N', async (t) => {
  const tally: Tally = { cases: 0, mismatches: [] }
  const { inputs } = fileInputs()
  for (const input of [...inputs, ...shapeInputs()]) compare(input.name, input.xml, undefined, ['#default', 'ds'], tally)
  t.same(tally.mismatches, [], `${tally.cases} cases`)
  t.ok(tally.cases > 500, `the fixed inputs give ${tally.cases} cases`)
})

t.test(`${COUNT} generated documents (seed ${SEED}): streamed C14N = tree C14N`, async (t) => {
  const tally: Tally = { cases: 0, mismatches: [] }
  for (const [i, d] of sampleDocuments(SEED, COUNT).entries()) compare(`generated #${i}`, d.xml, d.excludePath, d.inclusivePrefixes, tally)
  t.same(tally.mismatches, [], `${tally.cases} cases`)
  t.ok(tally.cases >= 100_000 || COUNT < 16000, `${tally.cases} cases compared`)
})
