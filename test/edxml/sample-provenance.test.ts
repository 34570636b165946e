import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'

// The real edXML samples are copies (test/fixtures/edxml-samples/PROVENANCE.md says from where);
// they must stay byte for byte what was copied: a line-end conversion or an edit would change
// what the envelope and c14n tests see without anyone noticing.

const DIR = new URL('../fixtures/edxml-samples/', import.meta.url)

t.test('every sample is listed in PROVENANCE.md with its SHA-256, and nothing else is', async (t) => {
  const listed = new Map<string, string>()
  for (const m of readFileSync(new URL('PROVENANCE.md', DIR), 'utf8').matchAll(/^\| `([^`]+\.edxml)` \| `([0-9a-f]{64})` \|$/gm)) listed.set(m[1] as string, m[2] as string)
  const files = ['observed', 'vpcp-java-sdk'].flatMap((d) => readdirSync(new URL(`${d}/`, DIR)).map((f) => `${d}/${f}`)).sort()
  t.same([...listed.keys()].sort(), files, 'the files are the listed ones')
  for (const file of files) {
    t.equal(createHash('sha256').update(readFileSync(new URL(file, DIR))).digest('hex'), listed.get(file), file)
  }
})
