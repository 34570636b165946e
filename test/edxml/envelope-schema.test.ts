import { readFileSync, readdirSync } from 'node:fs'
import t from 'tap'
import { compileGrammar } from '../../src/edxml/envelope-grammar.js'
import { ENVELOPE_GRAMMAR_URL, validateEdxmlEnvelope, type EnvelopeCheck } from '../../src/edxml/envelope-schema.js'
import { DSIG_NS, EDXML_NS } from '../../src/edxml/namespaces.js'
import { parseXml } from '../../src/xmldsig/parse.js'

// Real samples, copied into the repository with their provenance (test/fixtures/edxml-samples/PROVENANCE.md).
const SAMPLES = new URL('../fixtures/edxml-samples/', import.meta.url)
const sample = (name: string): string => readFileSync(new URL(name, SAMPLES), 'utf8')
const check = (xml: string): EnvelopeCheck => validateEdxmlEnvelope(parseXml(xml))

/** Applies string replacements, failing loudly if one does not apply (a no-op mutation tests nothing). */
function mutate (xml: string, ...edits: [string | RegExp, string][]): string {
  let out = xml
  for (const [from, to] of edits) {
    const next = out.replace(from, to)
    if (next === out) throw new Error(`mutation did not apply: ${String(from)}`)
    out = next
  }
  return out
}

const NOT_WELL_FORMED = new Set(['vpcp-java-sdk/edoc.edxml', 'vpcp-java-sdk/edoc_new.edxml'])
const listed = ['vpcp-java-sdk', 'observed'].flatMap((dir) =>
  readdirSync(new URL(`${dir}/`, SAMPLES)).filter((f) => f.endsWith('.edxml')).map((f) => `${dir}/${f}`))

t.test('every well-formed sample passes with the right kind', async (t) => {
  const wellFormed = listed.filter((f) => !NOT_WELL_FORMED.has(f))
  t.ok(wellFormed.length >= 15, `found ${wellFormed.length} samples`)
  for (const file of wellFormed) {
    const kind = /(^|\/)status[^/]*$/.test(file) ? 'status' : 'document'
    t.same(check(sample(file)), { ok: true, kind }, file)
  }
})

t.test('the two samples shipped malformed are refused by the parser, not crashed on', async (t) => {
  for (const file of NOT_WELL_FORMED) {
    t.throws(() => parseXml(readFileSync(new URL(file, SAMPLES))), { name: 'XmlRefusal', code: 'XML_MALFORMED' }, file)
  }
})

t.test('the malformed samples pass once repaired (so only their XML was at fault)', async (t) => {
  // edoc.edxml: a real XML-DSig Signature inside edXMLHeader, prefixed AttachmentEncoded.
  const edoc = mutate(sample('vpcp-java-sdk/edoc.edxml'), [
    `<edXML xmlns="${EDXML_NS}">`,
    `<edXML xmlns="${EDXML_NS}" xmlns:edXML="${EDXML_NS}" xmlns:xlink="http://www.w3.org/1999/xlink">`
  ])
  t.same(check(edoc), { ok: true, kind: 'document' }, 'edoc.edxml with its prefixes declared')
  const edocNew = sample('vpcp-java-sdk/edoc_new.edxml').replace(/^1212/, '')
  t.same(check(edocNew), { ok: true, kind: 'document' }, 'edoc_new.edxml without the stray bytes (full payload)')
})

const DOC = sample('observed/production_2025_enterprise_to_ministry.redacted.edxml')
const SIGNED = sample('vpcp-java-sdk/edoc_update.payload-truncated.edxml')
const STATUS = sample('vpcp-java-sdk/status.edxml')
const MH = '/edXML/edXMLEnvelope/edXMLHeader/MessageHeader'
const FROM = /<edXML:From>[\s\S]*?<\/edXML:From>/
const TO = /<edXML:To>[\s\S]*?<\/edXML:To>/g
const AGENCY_CODE = '1 to 4 dot-separated groups of ASCII letters and digits, with no whitespace'
const DSIG_SIGNATURE = `<Signature xmlns="${DSIG_NS}"><SignedInfo><Reference URI=""/></SignedInfo><SignatureValue>AA==</SignatureValue></Signature>`

const rejected: { name: string, xml: () => string, path: string, message: string }[] = [
  {
    name: 'an html root',
    xml: () => '<html><body><p>hello</p></body></html>',
    path: '/html',
    message: `The root element must be edXML in namespace ${EDXML_NS}, found html with no namespace`
  },
  {
    name: 'an edXML root in another namespace',
    xml: () => mutate(DOC, [`<edXML xmlns="${EDXML_NS}">`, '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2017">']),
    path: '/edXML',
    message: `The root element must be edXML in namespace ${EDXML_NS}, found edXML in namespace http://www.mic.gov.vn/TBT/QCVN_102_2017`
  },
  {
    name: 'an edXML root with no namespace',
    xml: () => mutate(DOC, [`<edXML xmlns="${EDXML_NS}">`, '<edXML>']),
    path: '/edXML',
    message: `The root element must be edXML in namespace ${EDXML_NS}, found edXML with no namespace`
  },
  {
    name: 'no edXMLEnvelope',
    xml: () => mutate(DOC, [/<edXML:edXMLEnvelope[\s\S]*<\/edXML:edXMLEnvelope>/, '']),
    path: '/edXML',
    message: 'edXML must contain exactly one edXMLEnvelope, found 0'
  },
  {
    name: 'two edXMLHeader',
    xml: () => mutate(DOC, [/<edXML:edXMLHeader>[\s\S]*<\/edXML:edXMLHeader>/, '$&$&']),
    path: '/edXML/edXMLEnvelope',
    message: 'edXMLEnvelope must contain exactly one edXMLHeader, found 2'
  },
  {
    name: 'two MessageHeader',
    xml: () => mutate(STATUS, [/<edXML:MessageHeader>[\s\S]*<\/edXML:MessageHeader>/, '$&$&']),
    path: '/edXML/edXMLEnvelope/edXMLHeader',
    message: 'edXMLHeader must contain exactly one MessageHeader, found 2'
  },
  {
    name: 'two AttachmentEncoded',
    xml: () => mutate(DOC, ['</edXML>', '<AttachmentEncoded/></edXML>']),
    path: '/edXML',
    message: 'edXML must contain at most one AttachmentEncoded, found 2'
  },
  {
    name: 'a document without From',
    xml: () => mutate(DOC, [FROM, '']),
    path: MH,
    message: 'MessageHeader of a document must contain exactly one From, found 0'
  },
  {
    name: 'a document with two From',
    xml: () => mutate(DOC, [FROM, '$&$&']),
    path: MH,
    message: 'MessageHeader of a document must contain exactly one From, found 2'
  },
  {
    name: 'a document without To',
    xml: () => mutate(SIGNED, [TO, '']),
    path: MH,
    message: 'MessageHeader of a document must contain at least one To, found 0'
  },
  {
    name: 'a document with two Code',
    xml: () => mutate(DOC, [/<edXML:Code>[\s\S]*?<\/edXML:Code>/, '$&$&']),
    path: MH,
    message: 'MessageHeader of a document must contain exactly one Code, found 2'
  },
  {
    name: 'a document without PromulgationInfo',
    xml: () => mutate(DOC, [/<edXML:PromulgationInfo>[\s\S]*?<\/edXML:PromulgationInfo>/, '']),
    path: MH,
    message: 'MessageHeader of a document must contain exactly one PromulgationInfo, found 0'
  },
  {
    name: 'a document with two DocumentId',
    xml: () => mutate(DOC, [/<edXML:DocumentId>[^<]*<\/edXML:DocumentId>/, '$&$&']),
    path: MH,
    message: 'MessageHeader of a document must contain at most one DocumentId, found 2'
  },
  {
    name: 'a To with an empty OrganId',
    xml: () => mutate(DOC, ['<edXML:OrganId>000.00.00.G12</edXML:OrganId>', '<edXML:OrganId> \n </edXML:OrganId>']),
    path: `${MH}/To[2]/OrganId`,
    message: 'OrganId must not be empty'
  },
  {
    name: 'a To without OrganId',
    xml: () => mutate(DOC, ['<edXML:OrganId>G12</edXML:OrganId>', '']),
    path: `${MH}/To[1]`,
    message: 'To must contain exactly one OrganId, found 0'
  },
  {
    name: 'an OrganId with a space inside',
    xml: () => mutate(DOC, ['000.00.00.G12', '000.00 .00.G12']),
    path: `${MH}/To[2]/OrganId`,
    message: `OrganId must be ${AGENCY_CODE}, found "000.00 .00.G12"`
  },
  {
    name: 'an OrganId of five groups',
    xml: () => mutate(DOC, ['<edXML:OrganId>020100107370</edXML:OrganId>', '<edXML:OrganId>1.2.3.4.5</edXML:OrganId>']),
    path: `${MH}/From/OrganId`,
    message: `OrganId must be ${AGENCY_CODE}, found "1.2.3.4.5"`
  },
  {
    name: 'an OrganId over 64 characters',
    xml: () => mutate(DOC, ['<edXML:OrganId>020100107370</edXML:OrganId>', `<edXML:OrganId>${'A'.repeat(65)}</edXML:OrganId>`]),
    path: `${MH}/From/OrganId`,
    message: 'OrganId must be at most 64 characters long, found 65'
  },
  {
    name: 'an OrganId with markup inside',
    xml: () => mutate(DOC, ['<edXML:OrganId>G12</edXML:OrganId>', '<edXML:OrganId>G<edXML:b>12</edXML:b></edXML:OrganId>']),
    path: `${MH}/To[1]/OrganId`,
    message: 'OrganId must contain only text, found element edXML:b'
  },
  {
    name: 'an OrganId of huge text',
    xml: () => mutate(DOC, ['<edXML:OrganId>G12</edXML:OrganId>', `<edXML:OrganId>${' '.repeat(5000)}G12</edXML:OrganId>`]),
    path: `${MH}/To[1]/OrganId`,
    message: 'OrganId is longer than 4096 characters'
  },
  {
    name: 'a Priority outside 0-4',
    xml: () => mutate(DOC, ['<edXML:Priority>0</edXML:Priority>', '<edXML:Priority>7</edXML:Priority>']),
    path: `${MH}/OtherInfo/Priority`,
    message: 'Priority must be one of 0, 1, 2, 3, 4, found "7"'
  },
  {
    name: 'a BussinessDocType outside 0-3',
    xml: () => mutate(DOC, ['<edXML:BussinessDocType>0<', '<edXML:BussinessDocType>5<']),
    path: '/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/BussinessDocType',
    message: 'BussinessDocType must be one of 0, 1, 2, 3, found "5"'
  },
  {
    name: 'a TraceHeaderList without TraceHeader',
    xml: () => mutate(SIGNED, [/<edXML:TraceHeader>[\s\S]*?<\/edXML:TraceHeader>/, '']),
    path: '/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList',
    message: 'TraceHeaderList must contain at least one TraceHeader, found 0'
  },
  {
    name: 'a status with StatusCode 99',
    xml: () => mutate(STATUS, ['<edXML:StatusCode>01<', '<edXML:StatusCode>99<']),
    path: `${MH}/StatusCode`,
    message: 'StatusCode must be one of 01, 02, 03, 04, 05, 06, 13, 15, 16, found "99"'
  },
  {
    name: 'a status with a one-digit StatusCode',
    xml: () => mutate(STATUS, ['<edXML:StatusCode>01<', '<edXML:StatusCode>1<']),
    path: `${MH}/StatusCode`,
    message: 'StatusCode must be two digits, found "1"'
  },
  {
    name: 'a status with an empty StatusCode',
    xml: () => mutate(STATUS, ['<edXML:StatusCode>01</edXML:StatusCode>', '<edXML:StatusCode/>']),
    path: `${MH}/StatusCode`,
    message: 'StatusCode must not be empty'
  },
  {
    name: 'a status with two StatusCode',
    xml: () => mutate(STATUS, [/<edXML:StatusCode>01<\/edXML:StatusCode>/, '$&<edXML:StatusCode>02</edXML:StatusCode>']),
    path: MH,
    message: 'MessageHeader of a status message must contain exactly one StatusCode, found 2'
  },
  {
    name: 'a status without ResponseFor',
    xml: () => mutate(STATUS, [/<edXML:ResponseFor>[\s\S]*?<\/edXML:ResponseFor>/, '']),
    path: MH,
    message: 'MessageHeader of a status message must contain exactly one ResponseFor, found 0'
  },
  {
    name: 'a status whose ResponseFor names no agency',
    xml: () => mutate(STATUS, ['<edXML:OrganId>000.00.00.G22</edXML:OrganId>', '']),
    path: `${MH}/ResponseFor`,
    message: 'ResponseFor must contain exactly one OrganId, found 0'
  },
  {
    name: 'a status without From',
    xml: () => mutate(STATUS, [FROM, '']),
    path: MH,
    message: 'MessageHeader of a status message must contain exactly one From, found 0'
  },
  {
    name: 'a manifest Reference without ContentId',
    xml: () => mutate(DOC, ['<edXML:ContentId>cid:cbc23df4-48c1-4b34-8b1a-2a58e6aa2b41</edXML:ContentId>', '']),
    path: '/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference[2]',
    message: 'Reference must contain exactly one ContentId, found 0'
  },
  {
    name: 'an Attachment without ContentId',
    xml: () => mutate(DOC, ['<ContentId>cid:cbc23df4-48c1-4b34-8b1a-2a58e6aa2b41</ContentId>', '']),
    path: '/edXML/AttachmentEncoded/Attachment[2]',
    message: 'Attachment must contain exactly one ContentId, found 0'
  },
  {
    name: 'an Attachment without ContentTransferEncoded',
    xml: () => mutate(DOC, [/<edXML:ContentTransferEncoded[^>]*>[^<]*<\/edXML:ContentTransferEncoded>/, '']),
    path: '/edXML/AttachmentEncoded/Attachment[1]',
    message: 'Attachment must contain exactly one ContentTransferEncoded, found 0'
  }
]

t.test('mutations of good samples are rejected with a path and a sentence', async (t) => {
  for (const c of rejected) {
    t.match(check(c.xml()), { ok: false, path: c.path, message: c.message }, c.name)
  }
})

const accepted: { name: string, xml: () => string, kind: 'document' | 'status' }[] = [
  {
    name: 'an unknown edXML element in MessageHeader',
    xml: () => mutate(DOC, ['</edXML:MessageHeader>', '<edXML:NewField2024>x</edXML:NewField2024></edXML:MessageHeader>']),
    kind: 'document'
  },
  {
    name: 'unknown edXML elements at the root, in To and in Attachment',
    xml: () => mutate(DOC, ['</edXML>', '<Extension><From/><From/></Extension></edXML>'],
      ['<edXML:OrganName>Bộ Tài chính</edXML:OrganName>', '$&<edXML:ParentOrganId>G</edXML:ParentOrganId>'],
      ['</Attachment>', '<Checksum>abc</Checksum></Attachment>']),
    kind: 'document'
  },
  {
    name: 'an element of a foreign namespace in MessageHeader',
    xml: () => mutate(DOC, ['</edXML:MessageHeader>', '<x:Extra xmlns:x="urn:example:x"><x:From/><x:To/></x:Extra></edXML:MessageHeader>']),
    kind: 'document'
  },
  {
    name: 'an edXML-namespace Signature (not XML-DSig) at the root and in the header',
    xml: () => mutate(SIGNED, ['</edXML>', '<Signature><SignedInfo/></Signature></edXML>']),
    kind: 'document'
  },
  {
    name: 'an XML-DSig Signature directly under the root',
    xml: () => mutate(DOC, ['</edXML>', `${DSIG_SIGNATURE}</edXML>`]),
    kind: 'document'
  },
  {
    name: 'an XML-DSig Signature inside edXMLHeader',
    xml: () => mutate(STATUS, ['</edXML:edXMLHeader>', `${DSIG_SIGNATURE}</edXML:edXMLHeader>`]),
    kind: 'status'
  },
  {
    name: 'prefixed and unprefixed names mixed',
    xml: () => mutate(DOC, [/<(\/?)edXML:(From|To|OrganId|Code|TraceHeader)>/g, '<$1$2>']),
    kind: 'document'
  },
  {
    name: 'no prefixes at all',
    xml: () => mutate(SIGNED, [/<(\/?)edXML:/g, '<$1']),
    kind: 'document'
  },
  {
    name: 'a prefixed root and another prefix',
    xml: () => mutate(STATUS, [`<edXML xmlns="${EDXML_NS}">`, `<e:edXML xmlns:e="${EDXML_NS}">`], ['</edXML>', '</e:edXML>'],
      ['<edXML:From>', `<q:From xmlns:q="${EDXML_NS}">`], ['</edXML:From>', '</q:From>']),
    kind: 'status'
  },
  {
    name: 'empty optional fields',
    xml: () => mutate(DOC, ['<edXML:Priority>0</edXML:Priority>', '<edXML:Priority></edXML:Priority>'],
      ['<edXML:BussinessDocType>0</edXML:BussinessDocType>', '<edXML:BussinessDocType/>'],
      ['</edXML:MessageHeader>', '<edXML:ResponseFor/><edXML:ResponseFor><edXML:OrganId></edXML:OrganId></edXML:ResponseFor></edXML:MessageHeader>']),
    kind: 'document'
  },
  {
    name: 'codes with surrounding whitespace, CDATA and comments',
    xml: () => mutate(DOC, ['<edXML:Priority>0<', '<edXML:Priority>\n  3  <'],
      ['<edXML:OrganId>G12</edXML:OrganId>', '<edXML:OrganId><![CDATA[G12]]></edXML:OrganId>'],
      ['<edXML:OrganId>000.00.00.G12</edXML:OrganId>', '<edXML:OrganId>000.00<!-- old code -->.00.G12</edXML:OrganId>']),
    kind: 'document'
  },
  {
    name: 'a document without body or attachments',
    xml: () => mutate(DOC, [/<edXML:edXMLBody>[\s\S]*<\/edXML:edXMLBody>/, ''], [/<AttachmentEncoded>[\s\S]*<\/AttachmentEncoded>/, '']),
    kind: 'document'
  },
  {
    name: 'a status that also names a To',
    xml: () => mutate(STATUS, ['</edXML:From>', '</edXML:From><edXML:To><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:To>']),
    kind: 'status'
  },
  {
    name: 'a status with a TraceHeaderList and no optional fields',
    xml: () => mutate(STATUS, [/<edXML:StaffInfo>[\s\S]*?<\/edXML:StaffInfo>/, ''], [/<edXML:Description>.*<\/edXML:Description>/, ''],
      ['</edXML:MessageHeader>', '</edXML:MessageHeader><edXML:TraceHeaderList><edXML:TraceHeader/></edXML:TraceHeaderList>']),
    kind: 'status'
  }
]

t.test('tolerated variations pass', async (t) => {
  for (const c of accepted) {
    t.same(check(c.xml()), { ok: true, kind: c.kind }, c.name)
  }
})

t.test('attachment payloads are never read', async (t) => {
  const doc = parseXml(DOC)
  const payloads = doc.elements.filter((e) => e.uri === EDXML_NS && e.local === 'ContentTransferEncoded')
  t.equal(payloads.length, 2)
  for (const element of payloads) {
    for (const child of element.children) {
      Object.defineProperty(child, 'value', { get () { throw new Error('a payload was read') } })
    }
  }
  t.same(validateEdxmlEnvelope(doc), { ok: true, kind: 'document' })
})

t.test('the grammar file agrees with namespaces.ts', async (t) => {
  const json = JSON.parse(readFileSync(ENVELOPE_GRAMMAR_URL, 'utf8')) as { namespaces: Record<string, string> }
  t.equal(json.namespaces[''], EDXML_NS)
  t.equal(json.namespaces.ds, DSIG_NS)
})

t.test('a broken grammar is refused at load, with where and why', async (t) => {
  const base = (rules: unknown): unknown => ({ grammar: 1, namespaces: { '': EDXML_NS }, root: { name: 'edXML', rule: 'edXML' }, rules })
  const broken: [string, unknown, RegExp][] = [
    ['a misspelt key', base({ edXML: { children: { A: { ocurs: '1' } } } }), /rules\.edXML\.children\.A: unknown key "ocurs"/],
    ['a bad occurs', base({ edXML: { children: { A: { occurs: '1..' } } } }), /rules\.edXML\.children\.A\.occurs/],
    ['max below min', base({ edXML: { children: { A: { occurs: '2..1' } } } }), /max below min/],
    ['a dangling rule', base({ edXML: { children: { A: { occurs: '1', rule: 'Nope' } } } }), /rule "Nope" is not defined/],
    ['a self reference', base({ edXML: { children: { A: { occurs: '1', rule: 'edXML' } } } }), /refers to itself/],
    ['an undeclared prefix', base({ edXML: { children: { 'ds:Signature': { occurs: '0..1' } } } }), /prefix "ds" is not declared/],
    ['a bad pattern', base({ edXML: { children: { A: { occurs: '1', text: { required: true, pattern: '([' } } } } }), /text\.pattern/],
    ['rule and inline together', base({ edXML: { children: { A: { occurs: '1', rule: 'edXML', children: {} } } } }), /either "rule"/],
    ['a default variant not last', base({ edXML: { variants: [{ children: {} }, { when: { hasChild: 'A' }, children: {} }] } }), /only the last variant/],
    ['an unknown kind', base({ edXML: { variants: [{ kind: 'memo', children: {} }] } }), /kind: must be one of document, status/],
    ['no edXML namespace', { grammar: 1, namespaces: {}, root: { name: 'edXML', rule: 'edXML' }, rules: {} }, /namespaces: must declare/],
    ['another grammar version', { grammar: 2 }, /only grammar version 1/]
  ]
  for (const [name, source, message] of broken) {
    t.throws(() => compileGrammar(source), { name: 'GrammarError', message }, name)
  }
})

t.test('a grammar without a message kind says so instead of guessing', async (t) => {
  const grammar = compileGrammar({ grammar: 1, namespaces: { '': EDXML_NS }, root: { name: 'edXML', rule: 'edXML' }, rules: { edXML: { children: {} } } })
  t.same(validateEdxmlEnvelope(parseXml(`<edXML xmlns="${EDXML_NS}"/>`), grammar),
    { ok: false, code: 'SCHEMA_INVALID', path: '/edXML', message: 'The message kind (document or status) could not be determined' })
})
