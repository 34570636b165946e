import { createHash, type Hash } from 'node:crypto'
import {
  C14N_10, C14N_10_COMMENTS, C14N_METHODS, EXC_C14N, EXC_C14N_COMMENTS, ScopeStack, compareAttributes, comparePrefixes, differsFromRendered, visiblyUtilisedDeclarations,
  escapeAttribute, escapeText, withoutComments, type C14nSink
} from './c14n.js'
import { XmlRefusal, XmlTokenizer, type ParseLimits, type StartTag, type XmlTokenHandler } from './xml-tokenizer.js'
import type { XmlDeclaration, XmlNamespaceDeclaration } from './xml-tree.js'

export interface StreamC14nOptions {
  method: string
  /** Exclusive C14N's InclusiveNamespaces PrefixList; '#default' names the default namespace. */
  inclusivePrefixes?: readonly string[]
  /**
   * Leave out the element whose start tag this accepts, with its descendants (the enveloped
   * signature). `index` counts start tags from 0 in document order.
   */
  exclude?: (tag: StartTag, index: number) => boolean
}

const NONE: [string, string][] = []

interface Frame {
  qname: string
  namespaces: readonly XmlNamespaceDeclaration[]
  rendered: [string, string][]
}

/**
 * Canonical XML 1.0 / Exclusive C14N 1.0 of a whole document (minus an excluded subtree), written
 * to `sink` while the tokenizer reports the tokens: nothing of the document is kept but the
 * open elements' names and namespace declarations (O(depth)). The rules are exactly those of
 * the tree canonicalizer (c14n.ts, checked against libxml2); test/xmldsig/stream-c14n-differential
 * shows the two produce the same bytes on generated documents. The apex is the root element,
 * which has no ancestor, so no namespace or xml:* attribute is inherited: the whole-document
 * node set (URI="") and the root element's (URI="#rootId") have the same canonical form
 * without comments.
 */
export class StreamingCanonicalizer implements XmlTokenHandler {
  private readonly scope = new ScopeStack()
  private readonly rendered = new ScopeStack()
  private readonly frames: Frame[] = []
  private readonly exclusive: boolean
  private readonly comments: boolean
  private readonly inclusivePrefixes: ReadonlySet<string>
  private readonly exclude: ((tag: StartTag, index: number) => boolean) | undefined
  /** Depth inside the excluded subtree (0: not inside it). */
  private skipping = 0
  private seenRoot = false
  private index = 0

  constructor (private readonly sink: C14nSink, options: StreamC14nOptions) {
    if (!C14N_METHODS.has(options.method)) throw new Error(`unsupported canonicalization ${options.method}`)
    this.exclusive = options.method === EXC_C14N || options.method === EXC_C14N_COMMENTS
    this.comments = options.method === C14N_10_COMMENTS || options.method === EXC_C14N_COMMENTS
    this.inclusivePrefixes = new Set((options.inclusivePrefixes ?? []).map((p) => p === '#default' ? '' : p))
    this.exclude = options.exclude
  }

  declaration (_decl: XmlDeclaration): void {}

  /** Renders nothing more (the output is no longer wanted); the tokens still arrive. */
  halt (): void {
    this.skipping = Infinity
  }

  startElement (tag: StartTag): void {
    const index = this.index++
    this.seenRoot = true
    if (this.skipping > 0) {
      this.skipping++
      return
    }
    if (this.exclude?.(tag, index) === true) {
      this.skipping = 1
      return
    }
    for (const d of tag.namespaces) this.scope.push(d.prefix, d.uri)
    const declarations = this.exclusive ? this.exclusiveDeclarations(tag) : this.inclusiveDeclarations(tag)
    for (const [prefix, uri] of declarations) this.rendered.push(prefix, uri)
    let out = '<' + tag.qname
    for (const [prefix, uri] of declarations) out += (prefix === '' ? ' xmlns="' : ` xmlns:${prefix}="`) + escapeAttribute(uri) + '"'
    const attributes = tag.attributes.length > 1 ? [...tag.attributes].sort(compareAttributes) : tag.attributes
    for (const a of attributes) out += ' ' + a.qname + '="' + escapeAttribute(a.value) + '"'
    this.sink(out + '>')
    this.frames.push({ qname: tag.qname, namespaces: tag.namespaces, rendered: declarations })
  }

  endElement (_end: number): void {
    if (this.skipping > 0) {
      this.skipping--
      return
    }
    const frame = this.frames.pop() as Frame
    this.sink('</' + frame.qname + '>')
    for (const [prefix] of frame.rendered) this.rendered.pop(prefix)
    for (const d of frame.namespaces) this.scope.pop(d.prefix)
  }

  text (piece: Buffer | string): void {
    // Text outside the root element is white space, which the data model does not keep.
    if (this.skipping > 0 || this.frames.length === 0) return
    // Buffer pieces are slices of the input that are already canonical (xml-tokenizer.ts).
    this.sink(typeof piece === 'string' ? escapeText(piece) : piece)
  }

  comment (value: string): void {
    if (this.comments) this.leaf(`<!--${value}-->`)
  }

  processingInstruction (target: string, data: string): void {
    this.leaf(data === '' ? `<?${target}?>` : `<?${target} ${data}?>`)
  }

  private leaf (rendered: string): void {
    if (this.skipping > 0) return
    if (this.frames.length > 0) {
      this.sink(rendered)
      return
    }
    // C14N §2.1: a node before the document element is followed by #xA, one after it is
    // preceded by #xA.
    if (this.seenRoot) this.sink('\n' + rendered)
    else this.sink(rendered + '\n')
  }

  /** As c14n.ts: with every ancestor in the output, only this element's own declarations can differ. */
  private inclusiveDeclarations (tag: StartTag): [string, string][] {
    const out: [string, string][] = []
    for (const d of tag.namespaces) {
      const uri = this.scope.get(d.prefix) as string
      if (this.differsFromRendered(d.prefix, uri)) out.push([d.prefix, uri])
    }
    return out.length > 1 ? out.sort(comparePrefixes) : out
  }

  /** As c14n.ts: visibly utilised namespaces and the PrefixList, unless already rendered. */
  private exclusiveDeclarations (tag: StartTag): [string, string][] {
    if (tag.attributes.length === 0 && this.inclusivePrefixes.size === 0) {
      // Most elements: only the element's own prefix is visibly utilised.
      const prefix = tag.prefix
      if (prefix === 'xml') return NONE
      const uri = this.scope.get(prefix) ?? ''
      return this.differsFromRendered(prefix, uri) ? [[prefix, uri]] : NONE
    }
    return visiblyUtilisedDeclarations(tag.prefix, tag.attributes, this.inclusivePrefixes, this.scope, this.rendered)
  }

  private differsFromRendered (prefix: string, uri: string): boolean {
    return differsFromRendered(this.rendered, prefix, uri)
  }
}

/** Canonical output is gathered into blocks of this many bytes before it is hashed. */
const BLOCK = 1 << 16
/** Slices of the input at least this long go to the hash as they are (a base64 attachment). */
const LARGE_SLICE = 512

/**
 * A C14N sink feeding a hash; `bytes` counts what was hashed (the linear-cost test reads it).
 * Tags and short texts are copied into one block (ASCII by a plain loop: crossing into C++ per
 * tag costs more than the copy), so the hash sees few large updates.
 * Past `budget` bytes it stops hashing and marks itself `overflowed`: exclusive C14N renders a
 * namespace again on every element whose output ancestors did not, so 100,000 siblings under a
 * root declaring one 64 KB namespace name would make 6 GB of canonical form out of 7 MB.
 */
export class HashSink {
  private readonly block = Buffer.allocUnsafe(BLOCK)
  private used = 0
  bytes = 0
  overflowed = false

  constructor (private readonly hash: Hash, private readonly budget = Infinity, private readonly onOverflow?: () => void) {}

  readonly write: C14nSink = (chunk) => {
    if (this.overflowed) return
    const block = this.block
    if (typeof chunk === 'string') {
      const n = chunk.length
      // At most 3 bytes per UTF-16 unit.
      if (this.used + 3 * n > BLOCK) {
        this.flush()
        if (3 * n > BLOCK) {
          this.take(Buffer.from(chunk, 'utf8'))
          return
        }
      }
      let used = this.used
      for (let i = 0; i < n; i++) {
        const c = chunk.charCodeAt(i)
        if (c >= 0x80) {
          used += block.write(chunk.slice(i), used, 'utf8')
          this.used = used
          return
        }
        block[used++] = c
      }
      this.used = used
      return
    }
    const n = chunk.length
    if (n >= LARGE_SLICE) {
      this.take(chunk)
      return
    }
    if (this.used + n > BLOCK) this.flush()
    let used = this.used
    for (let i = 0; i < n; i++) block[used++] = chunk[i] as number
    this.used = used
  }

  /** The digest, or a refusal when the canonical form outgrew the budget. */
  digest (): Buffer {
    this.flush()
    if (this.overflowed) throw new XmlRefusal('XML_LIMIT_EXCEEDED', `the canonical form of the document is larger than ${this.budget} bytes (namespace declarations repeated on every element)`)
    return this.hash.digest()
  }

  /** Hashes `bytes` as they are, after what is gathered. */
  private take (bytes: Buffer): void {
    this.flush()
    if (this.count(bytes.length)) this.hash.update(bytes)
  }

  private count (n: number): boolean {
    if (this.overflowed) return false
    if (this.bytes + n > this.budget) {
      this.overflowed = true
      this.onOverflow?.()
      return false
    }
    this.bytes += n
    return true
  }

  private flush (): void {
    if (this.used === 0) return
    const n = this.used
    this.used = 0
    if (this.count(n)) this.hash.update(this.block.subarray(0, n))
  }
}

/**
 * Canonical bytes a document may digest into: 6x its size, the most escaping alone can make
 * (`'"'` in an attribute is `&quot;`; `>` in text `&gt;`, `<a/>` is `<a></a>`), and 1 MiB. Only
 * namespaces repeated by exclusive C14N grow faster, without bound.
 */
export function canonicalBudget (inputBytes: number): number {
  return 6 * inputBytes + (1 << 20)
}

/**
 * What a same-document Reference digests: always without comments (XML-DSig §4.3.3.3), so one
 * of two C14N methods, with exclusive C14N's PrefixList, and the digest's hash.
 */
export interface ReferenceDigestSetting {
  method: typeof C14N_10 | typeof EXC_C14N
  /** Only for exclusive C14N ('' for '#default'), sorted; empty for C14N 1.0, which has none. */
  inclusivePrefixes: string[]
  hash: 'sha1' | 'sha256' | 'sha512'
}

export function referenceDigestSetting (c14nMethod: string, prefixes: readonly string[], hash: 'sha1' | 'sha256' | 'sha512'): ReferenceDigestSetting {
  const method = withoutComments(c14nMethod) === EXC_C14N ? EXC_C14N : C14N_10
  const inclusivePrefixes = method === EXC_C14N ? [...new Set(prefixes.map((p) => p === '#default' ? '' : p))].sort() : []
  return { method, inclusivePrefixes, hash }
}

export function sameSetting (a: ReferenceDigestSetting, b: ReferenceDigestSetting): boolean {
  return a.method === b.method && a.hash === b.hash && a.inclusivePrefixes.join(' ') === b.inclusivePrefixes.join(' ')
}

/** A digest of the canonical document being computed while the tokens arrive. */
export class StreamedDigest {
  readonly sink: HashSink
  readonly canonicalizer: StreamingCanonicalizer

  constructor (readonly setting: ReferenceDigestSetting, exclude: (tag: StartTag, index: number) => boolean, budget = Infinity) {
    // Past the budget the canonicalizer stops rendering too: its strings would be the cost.
    this.sink = new HashSink(createHash(setting.hash), budget, () => { this.canonicalizer.halt() })
    this.canonicalizer = new StreamingCanonicalizer(this.sink.write, { method: setting.method, inclusivePrefixes: setting.inclusivePrefixes, exclude })
  }
}

const DIGEST_URIS: Readonly<Record<string, 'sha1' | 'sha256' | 'sha512'>> = {
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1'
}
const ALGORITHM = /Algorithm\s*=\s*(["'])([^"']*)\1/g
const PREFIX_LIST = /PrefixList\s*=\s*(["'])([^"']*)\1/

/**
 * A guess of the Reference's settings from the raw bytes near the last `DigestMethod`, made
 * before parsing so the digest can be computed in the same pass as the parse. It is only a
 * guess: the verdict uses the settings read from the parsed signature, and when they differ
 * (a signature shaped to fool this look-up, or a document about XML-DSig) the digest is
 * computed again in a second streamed pass with the real settings: twice the work, never a
 * different answer. Costs a backward byte search and a regex over 2.5 KB.
 */
export function predictReferenceDigest (bytes: Buffer): ReferenceDigestSetting {
  const fallback = referenceDigestSetting(EXC_C14N, [], 'sha256')
  const at = bytes.lastIndexOf('DigestMethod', undefined, 'latin1')
  if (at < 0) return fallback
  const from = Math.max(0, at - 2048)
  const before = bytes.toString('latin1', from, at)
  const after = bytes.toString('latin1', at, Math.min(bytes.length, at + 512))
  const digestMatch = /^DigestMethod\s[^>]*?Algorithm\s*=\s*(["'])([^"']*)\1/.exec(after)
  const hash = DIGEST_URIS[digestMatch?.[2] ?? ''] ?? 'sha256'
  const reference = before.slice(Math.max(0, before.lastIndexOf('Reference')))
  let method: string = C14N_10
  for (const m of reference.matchAll(ALGORITHM)) if (C14N_METHODS.has(m[2] as string)) method = m[2] as string
  const prefixes = PREFIX_LIST.exec(reference)?.[2]?.split(/[ \t\r\n]+/).filter((p) => p !== '') ?? []
  return referenceDigestSetting(method, prefixes, hash)
}

/**
 * The enveloped-signature transform for a streamed digest: the first ds:Signature in document
 * order, the one the profile checks (it refuses any document with another).
 */
export function excludeFirstSignature (): (tag: StartTag) => boolean {
  let found = false
  return (tag) => {
    if (found || tag.local !== 'Signature' || tag.uri !== XMLDSIG_NS) return false
    found = true
    return true
  }
}

const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#'

/**
 * The Reference digest with the settings read from the signature: the one computed during the
 * parse when the prediction was right, else a second streamed pass over the same bytes with
 * the same tokenizer and bounds (it cannot refuse what the first pass accepted). Throws an
 * XmlRefusal when the canonical form outgrows its budget.
 */
export function referenceDigest (bytes: Buffer, streamed: StreamedDigest, actual: ReferenceDigestSetting, limits: ParseLimits): { digest: Buffer, passes: 1 | 2 } {
  if (sameSetting(actual, streamed.setting)) return { digest: streamed.sink.digest(), passes: 1 }
  const again = new StreamedDigest(actual, excludeFirstSignature(), canonicalBudget(bytes.length))
  new XmlTokenizer(bytes, again.canonicalizer, { limits, keepProcessingInstructions: false }).run()
  return { digest: again.sink.digest(), passes: 2 }
}
