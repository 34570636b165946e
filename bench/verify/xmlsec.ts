/**
 * `xmlsec1 --verify` on one document, for scale: the C implementation (libxml2 + OpenSSL) with
 * the same trust anchors. It validates the certificate path but is given no CRLs (this Debian
 * build refuses --crl-pem), and applies none of the hub's policy. Wall time per run includes
 * process start-up (a few ms).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { median } from './measure.js'
import { TRUST_DIR } from './fixtures.js'

export interface XmlsecResult {
  version: string
  command: string
  runs: number
  medianMs: number
  minMs: number
  maxMs: number
  /** From /usr/bin/time when it is installed. */
  peakRss?: number
}

const ARGS = ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', join(TRUST_DIR, 'root-ca.pem'), '--untrusted-pem', join(TRUST_DIR, 'issuing-ca.pem')]
const GNU_TIME = '/usr/bin/time'

/** Undefined when xmlsec1 is not installed. Throws when it does not verify the document. */
export function measureXmlsec (file: string, runs: number): XmlsecResult | undefined {
  const probe = spawnSync('xmlsec1', ['--version'], { encoding: 'utf8' })
  if (probe.error != null) return undefined
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    const run = spawnSync('xmlsec1', [...ARGS, file], { encoding: 'utf8', maxBuffer: 1024 * 1024 })
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
    if (run.status !== 0) throw new Error(`xmlsec1 --verify exited with ${run.status ?? run.signal}: ${run.stderr.trim()}`)
  }
  const result: XmlsecResult = {
    version: probe.stdout.trim(),
    command: `xmlsec1 ${ARGS.map((a) => a.startsWith('/') ? a.replace(/^.*\/certs-example\//, 'certs-example/') : a).join(' ')} FILE`,
    runs,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times)
  }
  if (existsSync(GNU_TIME)) {
    const timed = spawnSync(GNU_TIME, ['-f', 'maxrss=%M', 'xmlsec1', ...ARGS, file], { encoding: 'utf8', maxBuffer: 1024 * 1024 })
    const kb = /maxrss=(\d+)/.exec(timed.stderr)?.[1]
    if (timed.status === 0 && kb != null) result.peakRss = Number(kb) * 1024
  }
  return result
}
