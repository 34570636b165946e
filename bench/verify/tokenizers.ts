/**
 * Tokenizer candidates for the verifier, side by side on the same bytes in one process
 * (`node --import tsx bench/verify/tokenizers.ts`; also part of `npm run bench`):
 *
 * - saxes: the strict, W3C-conformance-tested parser the verifier used before (UTF-8 decode of
 *   the whole input, then events; xmlns on), events only, no tree;
 * - sax-wasm (if installed: `npm install --no-save sax-wasm@3`; it is not a dependency): fastest
 *   of the JS-reachable parsers but non-validating, so it could only ever be a front end to our own
 *   well-formedness checks; events only (open tag, close tag, text) with the strings read;
 * - ours: src/xmldsig/xml-tokenizer.ts, every check of the verifier, events to a no-op handler;
 * - ours + tree: parseXml, what verification uses (the element skeleton, text as input slices).
 *
 * Plus the two adversarial shapes of issue 15: 100,000 empty siblings and 50 MB nested to depth
 * 10,000 (our parser only: that is the one exposed to them).
 */
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { SaxesParser } from 'saxes'
import { parseXml, XmlRefusal } from '../../src/xmldsig/parse.js'
import { DEFAULT_PARSE_LIMITS, XmlTokenizer, type XmlTokenHandler } from '../../src/xmldsig/xml-tokenizer.js'

export interface TokenizerRow { candidate: string, document: string, ms: number, mbPerS: number, note: string }

const NOOP: XmlTokenHandler = { declaration () {}, startElement () {}, endElement () {}, text () {}, comment () {}, processingInstruction () {} }

/**
 * Median CPU time (user + system) of `fn`: on a machine shared with other work, CPU time hardly
 * depends on the load where wall time does.
 */
function timeMs (fn: () => unknown, minMs: number, minRuns: number): number {
  fn()
  const times: number[] = []
  const started = performance.now()
  while (times.length < minRuns || performance.now() - started < minMs) {
    const t0 = process.cpuUsage()
    fn()
    const d = process.cpuUsage(t0)
    times.push((d.user + d.system) / 1000)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] as number
}

/** Returns what it counted, so that the events are really consumed. */
function saxes (bytes: Buffer): number {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  const parser = new SaxesParser({ xmlns: true })
  let n = 0
  parser.on('opentag', () => { n++ })
  parser.on('text', (t) => { n += t.length })
  parser.on('error', (e) => { throw e })
  parser.write(text).close()
  return n
}

type SaxWasm = (bytes: Buffer) => number

async function loadSaxWasm (): Promise<SaxWasm | undefined> {
  try {
    const require = createRequire(import.meta.url)
    const wasmPath = require.resolve('sax-wasm/lib/sax-wasm.wasm')
    const mod: any = await import('sax-wasm' as string)
    const parser = new mod.SAXParser(mod.SaxEventType.OpenTag | mod.SaxEventType.CloseTag | mod.SaxEventType.Text)
    await parser.prepareWasm(readFileSync(wasmPath))
    let n = 0
    parser.eventHandler = (event: number, detail: any) => {
      if (event === mod.SaxEventType.Text) n += (detail.value as string).length
      else n += (detail.name as string).length
    }
    return (bytes) => {
      for (let i = 0; i < bytes.length; i += 1 << 20) parser.write(bytes.subarray(i, i + (1 << 20)))
      parser.end()
      return n
    }
  } catch {
    return undefined
  }
}

export function siblingsDocument (count: number): Buffer {
  return Buffer.from(`<r>${'<b/>'.repeat(count)}</r>`)
}

export function deepDocument (bytes: number, depth: number): Buffer {
  const open = '<a>'.repeat(depth)
  const close = '</a>'.repeat(depth)
  const filler = Math.max(0, bytes - open.length - close.length)
  return Buffer.concat([Buffer.from(open), Buffer.alloc(filler, 'x'), Buffer.from(close)])
}

export async function measureTokenizers (documents: { label: string, path: string }[], quick: boolean): Promise<TokenizerRow[]> {
  const rows: TokenizerRow[] = []
  const saxWasm = await loadSaxWasm()
  const budget = quick ? 200 : 1500
  for (const d of documents) {
    const bytes = readFileSync(d.path)
    const runs = bytes.length > 5e6 ? 3 : 10
    const add = (candidate: string, fn: () => unknown, note: string): void => {
      const ms = timeMs(fn, budget, quick ? 1 : runs)
      rows.push({ candidate, document: d.label, ms, mbPerS: bytes.length / 1048576 / (ms / 1000), note })
    }
    add('saxes (decode + events)', () => saxes(bytes), 'strict, conformance-tested')
    if (saxWasm != null) add('sax-wasm (events)', () => saxWasm(bytes), 'non-validating')
    add('ours, tokenizer only', () => { new XmlTokenizer(bytes, NOOP, { limits: DEFAULT_PARSE_LIMITS, keepProcessingInstructions: false }).run() }, 'strict')
    add('ours, parseXml (skeleton tree)', () => { parseXml(bytes, { maxDepth: 64 }) }, 'strict; what verification uses')
  }
  const siblings = siblingsDocument(100_000)
  rows.push({ candidate: 'ours, parseXml', document: '100,000 empty siblings (0.4 MB), maxElements raised', ms: timeMs(() => { parseXml(siblings, { maxElements: 200_000 }) }, budget, 5), mbPerS: 0, note: 'parsed' })
  rows.push({ candidate: 'ours, parseXml', document: '100,000 empty siblings (0.4 MB), default limits', ms: timeMs(() => { refused(() => parseXml(siblings)) }, budget, 5), mbPerS: 0, note: 'refused: XML_LIMIT_EXCEEDED at element 100,001' })
  const deep = deepDocument(50 * 1048576, 10_000)
  rows.push({ candidate: 'ours, parseXml', document: '50 MB nested to depth 10,000', ms: timeMs(() => { refused(() => parseXml(deep)) }, budget, 5), mbPerS: 0, note: 'refused: XML_TOO_DEEP at depth 65 (includes the UTF-8 check of all 50 MB)' })
  return rows
}

function refused (fn: () => void): void {
  try {
    fn()
  } catch (err) {
    if (err instanceof XmlRefusal) return
    throw err
  }
  throw new Error('expected a refusal')
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { mkdtempSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { makeDocuments } = await import('./make-documents.js')
  const docs = makeDocuments(mkdtempSync(join(tmpdir(), 'lienthong-tok-')))
  for (const r of await measureTokenizers(docs, process.argv.includes('--quick'))) {
    console.log(`${r.candidate.padEnd(34)} ${r.document.padEnd(52)} ${r.ms.toFixed(2).padStart(9)} ms ${r.mbPerS > 0 ? r.mbPerS.toFixed(0).padStart(5) + ' MB/s' : ''} ${r.note}`)
  }
}
