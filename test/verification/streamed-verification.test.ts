import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { parseXml, DEFAULT_PARSE_LIMITS, XmlRefusal, type KeepPolicy } from '../../src/xmldsig/parse.js'
import { envelopeKeepPolicy, validateEdxmlEnvelope } from '../../src/edxml/envelope-schema.js'
import { checkEnvelopeUniqueness, EnvelopeUniqueness } from '../../src/edxml/envelope-uniqueness.js'
import { readSignedEnvelope } from '../../src/edxml/signed-envelope-fields.js'
import { readSignatureProfile, HASH_OF } from '../../src/xmldsig/signature-profile.js'
import { XmlDsigFailure } from '../../src/xmldsig/xmldsig-failure.js'
import { EXC_C14N, C14N_10 } from '../../src/xmldsig/c14n.js'
import {
  canonicalBudget, excludeFirstSignature, predictReferenceDigest, referenceDigest, referenceDigestSetting, StreamedDigest
} from '../../src/xmldsig/stream-c14n.js'
import { XmlTokenizer, type StartTag, type XmlTokenHandler } from '../../src/xmldsig/xml-tokenizer.js'
import { EDXML_SIGNATURE_PLACE } from '../../src/verification/xmldsig-steps.js'
import type { XmlDocument } from '../../src/xmldsig/xml-tree.js'
import { FIXTURES, examplePolicy } from '../helpers/example-pki.js'
import { ourSign, replace, UNSIGNED } from './review/documents.js'

// verifyDocument parses once: the tree keeps only the envelope elements the grammar checks and the
// first ds:Signature, every element is counted (XML-DSig elements, Id holders, envelope
// singletons), and the canonical document minus the signature goes into the digest during the
// same pass with the settings guessed from the bytes. These tests show (1) that the kept parts
// answer every question exactly as the full tree does, on every fixture, (2) that a wrong guess
// costs a second pass and never a different verdict, and (3) that the work stays linear.

function keptParse (xml: Buffer): { doc: XmlDocument, uniqueness: EnvelopeUniqueness } {
  const uniqueness = new EnvelopeUniqueness()
  const keep: KeepPolicy = envelopeKeepPolicy(uniqueness.observe)
  return { doc: parseXml(xml, { keep }), uniqueness }
}

function outcome<T> (f: () => T): T | string {
  try {
    return f()
  } catch (err) {
    if (err instanceof XmlDsigFailure) return `refused ${err.code}: ${err.message}`
    throw err
  }
}

/** What verification reads from a tree, as plain data. */
function reading (doc: XmlDocument, unique: ReturnType<typeof checkEnvelopeUniqueness>): unknown {
  const schema = validateEdxmlEnvelope(doc)
  const profile = outcome(() => {
    const p = readSignatureProfile(doc, true, EDXML_SIGNATURE_PLACE)
    return { ...p, signature: p.signature.qname, signedInfo: p.signedInfo.qname }
  })
  return { schema, unique, envelope: schema.ok ? readSignedEnvelope(doc, schema.kind) : undefined, profile, facts: { ...doc.facts, firstSignature: doc.facts.firstSignature?.qname } }
}

function edxmlFiles (): { name: string, xml: Buffer }[] {
  const out: { name: string, xml: Buffer }[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (/\.(edxml|xml)$/.test(e.name)) out.push({ name: p.slice(FIXTURES.length + 1), xml: readFileSync(p) })
    }
  }
  walk(FIXTURES)
  return out
}

t.test('the kept parts answer schema, uniqueness, envelope and profile exactly as the full tree, on every fixture', async (t) => {
  let compared = 0
  for (const { name, xml } of edxmlFiles()) {
    let full: XmlDocument
    try {
      full = parseXml(xml)
    } catch (err) {
      if (err instanceof XmlRefusal) continue
      throw err
    }
    const { doc, uniqueness } = keptParse(xml)
    t.same(reading(doc, uniqueness.finding()), reading(full, checkEnvelopeUniqueness(full)), name)
    compared++
  }
  t.ok(compared >= 60, `${compared} fixtures compared`)
})

t.test('a 1 MB signed document: the tree keeps the header and the signature, not the payload', async (t) => {
  const payload = randomBytes(768 * 1024).toString('base64').replace(/.{76}/g, '$&\r\n')
  const xml = Buffer.from(ourSign(replace(UNSIGNED, /(<ContentTransferEncoded>)[^<]*/, `$1${payload}`)))
  t.ok(xml.length > 1_000_000)
  const { doc } = keptParse(xml)
  let keptText = 0
  for (const e of doc.elements) for (const c of e.children) if (c.kind === 'text') keptText += c.value.length
  t.ok(keptText < 16_384, `${keptText} characters of text kept (the signature's certificates, the header fields)`)
  t.notOk(doc.elements.some((e) => e.local === 'ContentTransferEncoded' && e.children.length > 0), 'the payload element is counted, its content not kept')
  const verdict = await verifyDocument(xml, await examplePolicy())
  t.equal(verdict.verdict, 'accepted', 'and the document verifies (CR LF payload streamed as slices)')
})

t.test('the guessed digest settings: right for every signer setting; a wrong guess costs a second pass, never the verdict', async (t) => {
  const policy = await examplePolicy()
  const signed = {
    exc: ourSign(UNSIGNED, 'exc'),
    c14n: ourSign(UNSIGNED, 'c14n')
  }
  for (const [name, xml] of Object.entries(signed)) {
    const bytes = Buffer.from(xml)
    const doc = parseXml(bytes)
    const profile = readSignatureProfile(doc, false, EDXML_SIGNATURE_PLACE)
    const actual = referenceDigestSetting(profile.referenceCanonicalization, profile.referencePrefixes, HASH_OF[profile.digestMethod] as 'sha256')
    t.same(predictReferenceDigest(bytes), actual, `${name}: guessed right`)
    t.equal(actual.method, name === 'exc' ? EXC_C14N : C14N_10)
  }
  // A comment after the root is not signed (same-document references digest without comments):
  // it can carry a decoy DigestMethod that the byte-level guess takes for the real one.
  const decoy = '\n<!-- <ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha512"/> -->\n'
  const fooled = Buffer.from(signed.exc + decoy)
  const guess = predictReferenceDigest(fooled)
  t.same(guess, referenceDigestSetting(C14N_10, [], 'sha512'), 'the decoy fools the guess')
  const doc = parseXml(fooled)
  const profile = readSignatureProfile(doc, false, EDXML_SIGNATURE_PLACE)
  const actual = referenceDigestSetting(profile.referenceCanonicalization, profile.referencePrefixes, 'sha256')
  const streamed = new StreamedDigest(guess, excludeFirstSignature())
  new XmlTokenizer(fooled, streamed.canonicalizer, { limits: DEFAULT_PARSE_LIMITS, keepProcessingInstructions: false }).run()
  const result = referenceDigest(fooled, streamed, actual, DEFAULT_PARSE_LIMITS)
  t.equal(result.passes, 2, 'the digest is computed again with the signature\'s settings')
  t.same(result.digest, profile.digestValue, 'and matches the signed DigestValue')
  t.equal((await verifyDocument(fooled, policy)).verdict, 'accepted', 'fooled guess: still accepted')
  const tampered = Buffer.from(replace(signed.exc, '000.00.00.G12', '000.00.00.H41') + decoy)
  const verdict = await verifyDocument(tampered, policy)
  t.equal(verdict.verdict === 'rejected' ? verdict.code : verdict.verdict, 'DIGEST_MISMATCH', 'fooled guess over changed content: still refused')
})

/** Counts what the tokenizer hands on: tokens and the bytes of text pieces. */
class CountingHandler implements XmlTokenHandler {
  tokens = 0
  constructor (private readonly next: XmlTokenHandler) {}
  declaration (): void { this.tokens++ }
  startElement (tag: StartTag): void { this.tokens++; this.next.startElement(tag) }
  endElement (end: number): void { this.tokens++; this.next.endElement(end) }
  text (piece: Buffer | string): void { this.tokens++; this.next.text(piece) }
  comment (value: string): void { this.tokens++; this.next.comment(value) }
  processingInstruction (): void { this.tokens++ }
}

const NS = 'urn:example:' + 'n'.repeat(60_000)
/** Adversarial shapes, each about 1 MB, with the work per input byte allowed for each. */
const SHAPES: { name: string, xml: string, refused?: string }[] = [
  { name: '100,000 empty siblings', xml: `<r>${'<a/>'.repeat(99_999)}</r>` },
  { name: 'siblings with 8 attributes each', xml: `<r>${'<a z="1" y="2" x="3" w="4" v="5" u="6" t="7" s="8"/>'.repeat(20_000)}</r>` },
  { name: 'a namespace declared on every element', xml: `<r>${'<p:a xmlns:p="urn:x"><p:b/></p:a>'.repeat(30_000)}</r>` },
  { name: 'nested to the depth bound, 1,000 times', xml: `<r>${('<a>'.repeat(63) + '</a>'.repeat(63)).repeat(1_000)}</r>` },
  { name: 'text of > and CR LF', xml: `<r>${'>\r\n'.repeat(300_000)}</r>` },
  { name: 'references', xml: `<r>${'&lt;&#x1F600;&amp;'.repeat(60_000)}</r>` },
  // Exclusive C14N renders p on every child (no output ancestor uses it): 6 GB of canonical
  // form from 3 MB. The budget refuses it at 6x the input.
  { name: '60 KB namespace repeated on every sibling (exclusive)', xml: `<r xmlns:p="${NS}">${'<p:a/>'.repeat(99_000)}</r>`, refused: 'XML_LIMIT_EXCEEDED' }
]

t.test('linear work: tokens and canonical bytes hashed per input byte, both methods, on adversarial shapes', async (t) => {
  for (const shape of SHAPES) {
    const bytes = Buffer.from(shape.xml)
    for (const method of [EXC_C14N, C14N_10]) {
      const streamed = new StreamedDigest(referenceDigestSetting(method, [], 'sha256'), excludeFirstSignature(), canonicalBudget(bytes.length))
      const counter = new CountingHandler(streamed.canonicalizer)
      new XmlTokenizer(bytes, counter, { limits: DEFAULT_PARSE_LIMITS, keepProcessingInstructions: false }).run()
      const label = `${shape.name}, ${method === EXC_C14N ? 'exclusive' : 'inclusive'}`
      t.ok(counter.tokens <= bytes.length, `${label}: ${(counter.tokens / bytes.length).toFixed(3)} tokens per input byte`)
      t.ok(streamed.sink.bytes <= canonicalBudget(bytes.length), `${label}: ${(streamed.sink.bytes / bytes.length).toFixed(2)} bytes hashed per input byte`)
      let code: string | undefined
      try {
        streamed.sink.digest()
      } catch (err) {
        if (!(err instanceof XmlRefusal)) throw err
        code = err.code
      }
      const expected = method === EXC_C14N ? shape.refused : undefined
      t.equal(code, expected, `${label}: ${expected ?? 'digested'}`)
    }
  }
})
