import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeDocuments } from './make-documents.js'
import { loadVariants } from './variants.js'
const dir = mkdtempSync(join(tmpdir(), 'lt-bench-'))
const docs = makeDocuments(dir, [{ label: '4 MB', targetBytes: 4 * 1024 * 1024 }, { label: '10 KB', targetBytes: 10240 }])
console.log(docs)
const v = await loadVariants()
const small = readFileSync(docs[1]!.path)
for (let i = 0; i < 200; i++) { await v.bare(small); await v.full(small) }
let t = performance.now()
for (let i = 0; i < 200; i++) { await v.bare(small) }
console.log('10KB bare', (performance.now() - t) / 200)
t = performance.now()
for (let i = 0; i < 200; i++) { await v.full(small) }
console.log('10KB full', (performance.now() - t) / 200)
const b = readFileSync(docs[0]!.path)
for (const name of ['bare', 'full', 'bare', 'full'] as const) {
  t = performance.now(); await v[name](b); console.log(name, (performance.now() - t).toFixed(1))
}
