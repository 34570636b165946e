import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DOMParser } from '@xmldom/xmldom'
import { C14nCanonicalization, C14nCanonicalizationWithComments, ExclusiveCanonicalization, ExclusiveCanonicalizationWithComments } from 'xml-crypto'
import { FlatC14n, FlatC14nWithComments, FlatExclusiveC14n, FlatExclusiveC14nWithComments } from '../../src/verification/flat-c14n.js'
import { FIXTURES } from '../helpers/example-pki.js'

// Differential test: the memory-lean C14N must produce byte-identical output to xml-crypto's
// own implementation on every document of the corpus and on the real samples.
const PAIRS = [
  ['exc-c14n', ExclusiveCanonicalization, FlatExclusiveC14n],
  ['exc-c14n-with-comments', ExclusiveCanonicalizationWithComments, FlatExclusiveC14nWithComments],
  ['c14n', C14nCanonicalization, FlatC14n],
  ['c14n-with-comments', C14nCanonicalizationWithComments, FlatC14nWithComments]
] as const

const samples = new URL('../../../shared/edxml-samples/', import.meta.url)
const files = [
  ...readdirSync(join(FIXTURES, 'signatures', 'valid')).map((f) => join(FIXTURES, 'signatures', 'valid', f)),
  ...readdirSync(join(FIXTURES, 'templates')).map((f) => join(FIXTURES, 'templates', f)),
  ...['vpcp-java-sdk/status.edxml', 'vpcp-java-sdk/edoc_update.payload-truncated.edxml', 'observed/production_2025_enterprise_to_ministry.redacted.edxml']
    .map((f) => new URL(f, samples).pathname)
]

t.test('flat C14N output equals xml-crypto C14N output', async (t) => {
  for (const file of files) {
    const xml = readFileSync(file, 'utf8')
    for (const [name, Library, Flat] of PAIRS) {
      const doc = new DOMParser().parseFromString(xml, 'text/xml')
      const root = doc.documentElement
      const inner = root.getElementsByTagName('*').item(3) as Element
      for (const [label, node] of [['root', root], ['inner', inner]] as const) {
        const expected = new Library().process(node, {})
        const actual = new Flat().process(node, {})
        t.equal(actual, expected, `${file.split('/').slice(-1)[0]} ${name} ${label}`)
      }
    }
  }
  t.equal(new FlatExclusiveC14nWithComments().getAlgorithmName(), 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments')
  t.equal(new FlatC14n().getAlgorithmName(), 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315')
})
