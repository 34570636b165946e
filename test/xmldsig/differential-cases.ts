import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

// Fixed inputs of the libxml2 differential test: the real samples, the repository's fixtures, and
// hand-written shapes from issue 9 ("Found by differential testing against xmlsec1"), each of which
// libxml2 either refuses (so our parser must too) or canonicalizes (so we must, byte for byte).

export interface FixedInput { name: string, xml: Buffer }

const REPO = fileURLToPath(new URL('../../', import.meta.url))
export const FIXTURES = join(REPO, 'test', 'fixtures')
/** Real samples, copied with their provenance (PROVENANCE.md there); walked apart from the other fixtures. */
export const SAMPLES = join(FIXTURES, 'edxml-samples')

function walk (dir: string): string[] {
  let out: string[] = []
  let entries: string[]
  try { entries = readdirSync(dir).sort() } catch { return [] }
  for (const e of entries) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) out = out.concat(walk(p))
    else out.push(p)
  }
  return out
}

/** Every XML file of the real samples and of the other fixtures (not notes, not code). */
export function fileInputs (): { inputs: FixedInput[], samplesFound: boolean } {
  const isXml = (p: string): boolean => /\.(edxml|xml)$/i.test(p)
  const samples = walk(SAMPLES).filter(isXml)
  const fixtures = walk(FIXTURES).filter((p) => isXml(p) && !p.startsWith(SAMPLES + sep))
  return {
    samplesFound: samples.length > 0,
    inputs: [
      ...samples.map((p) => ({ name: 'samples/' + relative(SAMPLES, p), xml: readFileSync(p) })),
      ...fixtures.map((p) => ({ name: relative(REPO, p), xml: readFileSync(p) }))
    ]
  }
}

const DS = 'http://www.w3.org/2000/09/xmldsig#'
const SIGNED = `<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016" xml:lang="vi"><edXML:edXMLHeader><edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:From><edXML:DocumentId>000.00.00.G22,2027/10/01,1234/VPCP-KSTT</edXML:DocumentId><edXML:Subject>V/v triển khai
kết nối</edXML:Subject></edXML:MessageHeader><Signature xmlns="${DS}" xml:space="preserve"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/><Reference URI=""><DigestValue>AA==</DigestValue></Reference></SignedInfo></Signature></edXML:edXMLHeader><edXML:edXMLBody/></edXML:edXMLEnvelope>`

/** The mutations of a signed document, plus other corners; none is in the generator. */
export function shapeInputs (): FixedInput[] {
  const shapes: [string, string][] = [
    ['base document', SIGNED],
    ['F01: text moved into a PI', SIGNED.replace('1234/VPCP', '123<?x 4?>/VPCP')],
    ['PI before the root', `<?x a?>${SIGNED}`],
    ['PI and comment after the root', `${SIGNED}\n<?x a?><!--c-->\n`],
    ['data-less PI in SignedInfo', SIGNED.replace('<SignedInfo>', '<SignedInfo><?x?>')],
    ['signed LF replaced by U+2028', SIGNED.replace('triển khai\n', 'triển khai\u2028')],
    ['signed LF replaced by U+0085', SIGNED.replace('triển khai\n', 'triển khai\u0085')],
    ['attribute xmlns-OrganId', SIGNED.replace('<edXML:From>', '<edXML:From xmlns-OrganId="000.00.00.H01">')],
    ['attributes xmlnsX, xmlns0, xmlns.a', SIGNED.replace('<edXML:From>', '<edXML:From xmlnsX="1" xmlns0="2" xmlns.a="3">')],
    ['comment holding U+0001', SIGNED.replace('<edXML:edXMLBody/>', '<!--\u0001--><edXML:edXMLBody/>')],
    ['comment holding --', SIGNED.replace('<edXML:edXMLBody/>', '<!-- a -- b --><edXML:edXMLBody/>')],
    ['comment ending in ---', SIGNED.replace('<edXML:edXMLBody/>', '<!-- a ---><edXML:edXMLBody/>')],
    ['U+000B inside a start tag', SIGNED.replace('<edXML:From>', '<edXML:From\u000B>')],
    ['U+000C in text', SIGNED.replace('kết nối', 'kết\u000Cnối')],
    ['standalone="maybe"', `<?xml version="1.0" standalone="maybe"?>${SIGNED}`],
    ['surrogate pair as two character references', SIGNED.replace('kết nối', '&#xD83D;&#xDE00;')],
    ['lone surrogate character reference', SIGNED.replace('kết nối', '&#xDC00;')],
    ['&#0; reference', SIGNED.replace('kết nối', '&#0;')],
    ['non-BMP character reference and literal', SIGNED.replace('kết nối', '&#x1F600;😀&#128512;')],
    ['second XML declaration after the root', `${SIGNED}<?xml version="1.0"?>`],
    ['XML declaration not at the start', ` <?xml version="1.0"?>${SIGNED}`],
    ['xmlns:zz="" (undeclaring a prefix)', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:zz="">')],
    ['xmlns="" undeclaring the default', SIGNED.replace('<SignedInfo>', '<SignedInfo><x xmlns=""><y/></x>')],
    ['xmlns:xml on a descendant', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:xml="http://www.w3.org/XML/1998/namespace">')],
    ['xmlns:xml bound to another URI', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:xml="http://a">')],
    ['another prefix bound to the xml namespace', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:x="http://www.w3.org/XML/1998/namespace">')],
    ['xmlns:xmlns declared', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:xmlns="http://a">')],
    ['unbound prefix', SIGNED.replace('<edXML:From>', '<edXML:From zz:a="1">')],
    ['two attributes with one expanded name', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:p="http://a" xmlns:q="http://a" p:x="1" q:x="2">')],
    ['xml:lang on ds:Signature', SIGNED.replace(`<Signature xmlns="${DS}"`, `<Signature xmlns="${DS}" xml:lang="en"`)],
    ['TAB before > in end tags', SIGNED.replaceAll('</edXML:OrganId>', '</edXML:OrganId\t>')],
    ['attributes p:c in http://ab and q:bc in http://a', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:p="http://ab" xmlns:q="http://a" p:c="1" q:bc="2">')],
    ['prefixes differing in case', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:a="http://a" xmlns:B="http://b" a:x="1" B:x="2">')],
    ['relative namespace URI', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:r="relative/path" r:x="1">')],
    ['relative default namespace URI', SIGNED.replace('<edXML:edXMLBody/>', '<edXMLBody xmlns="body"/>')],
    ['namespace URI with a space', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:r="urn:a b">')],
    ['namespace URI with non-ASCII', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:r="http://example.com/tên">')],
    ['namespace URI with a fragment', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:r="http://example.com/#frag">')],
    ['namespace URI "urn:"', SIGNED.replace('<edXML:From>', '<edXML:From xmlns:r="urn:">')],
    ['encoding ISO-8859-1 declared', `<?xml version="1.0" encoding="ISO-8859-1"?>${SIGNED}`],
    ['version 1.1', `<?xml version="1.1"?>${SIGNED}`],
    ['two BOMs', `\uFEFF\uFEFF${SIGNED}`],
    ['undeclared entity', SIGNED.replace('kết nối', '&nbsp;')],
    ['DOCTYPE', `<!DOCTYPE x>${SIGNED}`],
    ['text before the root', `x${SIGNED}`],
    ['NBSP before the root', `\u00A0${SIGNED}`],
    ['CDATA after the root', `${SIGNED}<![CDATA[x]]>`],
    [']]> in text', SIGNED.replace('kết nối', 'a]]>b')],
    ['< in an attribute', SIGNED.replace('<edXML:From>', '<edXML:From a="<">')],
    ['PI target xml', SIGNED.replace('<edXML:From>', '<edXML:From><?xml x?>')],
    ['PI target XmL', SIGNED.replace('<edXML:From>', '<edXML:From><?XmL x?>')],
    ['PI target with a colon', SIGNED.replace('<edXML:From>', '<edXML:From><?a:b x?>')],
    ['element name with two colons', SIGNED.replace('<edXML:edXMLBody/>', '<a:b:c xmlns:a="http://a"/>')],
    ['CR, CRLF and &#xD; in text and attributes', SIGNED.replace('<edXML:From>', '<edXML:From a="1\r\n2\r3&#xD;&#xA;&#x9;\t">\r\n\r&#xD;&#13;')],
    ['whitespace and comments outside the root', `\n\n<!--a-->\n \t<?p?>\r\n${SIGNED}\r\n<!--b-->\t\n`],
    ['xml:space, xml:base, xml:lang on ancestors of an apex', `<r xml:lang="vi" xml:space="preserve" xml:base="http://x/"><s xml:lang=""><SignedInfo xmlns="${DS}"><t xml:base="y/"/></SignedInfo></s></r>`],
    ['rebinding and redeclaration', '<r xmlns="http://a" xmlns:p="http://a"><p:s xmlns="http://a" xmlns:p="http://b"><t xmlns:p="http://b" p:x="1"/><p:u xmlns=""/></p:s></r>']
  ]
  return shapes.map(([name, xml]) => ({ name: 'shape: ' + name, xml: Buffer.from(xml, 'utf8') }))
}
