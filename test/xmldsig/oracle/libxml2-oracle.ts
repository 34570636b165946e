import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

// Client of libxml2_c14n.py: one long-lived Debian python3 process per test file, requests
// pipelined as JSON lines (answers come back in order), so hundreds of documents cost seconds.

export const C14N_10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
export const C14N_10_COMMENTS = C14N_10 + '#WithComments'
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#'
export const EXC_C14N_COMMENTS = EXC_C14N + 'WithComments'
export const METHODS = [C14N_10, C14N_10_COMMENTS, EXC_C14N, EXC_C14N_COMMENTS] as const
export type Method = typeof METHODS[number]

export const METHOD_NAMES: Record<Method, string> = {
  [C14N_10]: 'c14n',
  [C14N_10_COMMENTS]: 'c14n#WithComments',
  [EXC_C14N]: 'exc-c14n',
  [EXC_C14N_COMMENTS]: 'exc-c14n#WithComments'
}

export const isExclusive = (method: string): boolean => method.startsWith(EXC_C14N)
export const withComments = (method: string): boolean => method.endsWith('WithComments')

/** Debian's interpreter: python3-libxml2 and python3-lxml are installed for it, not for a pyenv one. */
export const PYTHON = process.env.LIBXML2_ORACLE_PYTHON ?? '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./libxml2_c14n.py', import.meta.url))

export type Mode = 'document' | 'exclude' | 'apex'
export interface C14nRequest { method: string, mode: Mode, path?: number[], prefixes?: string[] | null, engine?: 'libxml2' | 'lxml' }
export type C14nAnswer = { ok: true, out: Buffer } | { ok: false, error: string }
export interface ParseAnswer {
  libxml2: { wellFormed: boolean, errors: [number, string][] }
  lxml: { ok: boolean, error: string | null }
}

/** Is the oracle usable here (Debian python with both bindings)? The reason if not. */
export function oracleUnavailable (): string | undefined {
  const res = spawnSync(PYTHON, ['-c', 'import libxml2, lxml.etree'], { encoding: 'utf8' })
  if (res.error) return `${PYTHON}: ${res.error.message}`
  if (res.status !== 0) return `${PYTHON} lacks python3-libxml2 / python3-lxml: ${res.stderr.trim()}`
  return undefined
}

export class Libxml2Oracle {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly pending: { resolve: (v: any) => void, reject: (e: Error) => void }[] = []
  private nextDoc = 0
  private stderr = ''
  private dead: Error | undefined

  constructor () {
    this.child = spawn(PYTHON, ['-u', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (d: string) => { this.stderr += d })
    const lines = createInterface({ input: this.child.stdout })
    lines.on('line', (line) => {
      const p = this.pending.shift()
      if (p === undefined) return
      try { p.resolve(JSON.parse(line)) } catch (e) { p.reject(e as Error) }
    })
    this.child.on('exit', (code, signal) => {
      this.dead = new Error(`libxml2 oracle exited (${code ?? signal}): ${this.stderr.trim()}`)
      for (const p of this.pending.splice(0)) p.reject(this.dead)
    })
  }

  private call (req: object): Promise<any> {
    if (this.dead) return Promise.reject(this.dead)
    const line = JSON.stringify(req) + '\n'
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject })
      this.child.stdin.write(line)
    })
  }

  /** Parse once; canonicalize many times against the returned handle. */
  async load (xml: Buffer | string): Promise<{ doc: number, parse: ParseAnswer }> {
    const doc = this.nextDoc++
    const res = await this.call({ op: 'parse', doc, xml: Buffer.from(xml).toString('base64') })
    if (!res.ok) throw new Error(`oracle parse: ${res.error}`)
    return { doc, parse: { libxml2: res.libxml2, lxml: res.lxml } }
  }

  async c14n (doc: number, req: C14nRequest): Promise<C14nAnswer> {
    const { method, mode, path, prefixes, engine } = req
    const res = await this.call({ op: 'c14n', doc, method, mode, path: path ?? [], prefixes: prefixes ?? null, engine: engine ?? 'libxml2' })
    return res.ok ? { ok: true, out: Buffer.from(res.out, 'base64') } : { ok: false, error: res.error }
  }

  async drop (doc: number): Promise<void> {
    await this.call({ op: 'drop', doc })
  }

  async close (): Promise<void> {
    if (this.dead) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.stdin.end()
    await exited
  }
}

/** xmllint's own canonicalizer (whole document, with comments): a second view of libxml2. */
export function xmllintC14n (xml: Buffer | string, exclusive: boolean): { ok: true, out: Buffer } | { ok: false, error: string } {
  const res = spawnSync('xmllint', [exclusive ? '--exc-c14n' : '--c14n', '-'], { input: xml, maxBuffer: 64 << 20 })
  if (res.error) return { ok: false, error: res.error.message }
  if (res.status !== 0) return { ok: false, error: `xmllint exit ${res.status}: ${res.stderr.toString('utf8').trim()}` }
  return { ok: true, out: res.stdout }
}
