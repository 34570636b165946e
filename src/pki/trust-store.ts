import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import * as pkijs from 'pkijs'
import { readPemBlocks } from './pem.js'
import './pkijs-engine.js'

export class TrustStoreError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TrustStoreError'
  }
}

export interface LoadedCertificate {
  pkijs: pkijs.Certificate
  node: X509Certificate
  file: string
}

export interface LoadedCrl {
  pkijs: pkijs.CertificateRevocationList
  issuer: string
  thisUpdate: Date
  nextUpdate: Date | undefined
  crlNumber: string | null
  /** The file it was read from, or the URL it was fetched from (CRLs merged from the database). */
  file: string
  /** DER, as read: what the verification workers are handed when the CRL comes from the database. */
  der: Uint8Array<ArrayBuffer>
}

export interface CrlFreshness {
  issuer: string
  file: string
  crlNumber: string | null
  thisUpdate: string
  nextUpdate: string | null
  fresh: boolean
}

/**
 * The trust store: a directory of PEM files holding trust anchors (self-signed CA certificates),
 * intermediate CA certificates and CRLs, in any mix and any file names (*.pem, *.crt, *.crl).
 * Everything is classified by content, not by name. Loaded at start; `reload()` builds a new
 * store that replaces the old one atomically (a verification in flight keeps its snapshot).
 */
export class TrustStore {
  /** Increases with every load; part of the path-validation cache key. */
  static generationCounter = 0
  readonly generation = ++TrustStore.generationCounter

  private constructor (
    readonly dir: string,
    readonly anchors: LoadedCertificate[],
    readonly intermediates: LoadedCertificate[],
    readonly crls: LoadedCrl[],
    readonly loadedAt: Date
  ) {}

  static async load (dir: string): Promise<TrustStore> {
    let names: string[]
    try {
      names = (await readdir(dir)).filter((n) => /\.(pem|crt|cer|crl)$/i.test(n)).sort()
    } catch (err) {
      throw new TrustStoreError(`cannot read trust store directory ${dir}: ${(err as Error).message}`)
    }
    const anchors: LoadedCertificate[] = []
    const intermediates: LoadedCertificate[] = []
    const crls: LoadedCrl[] = []
    for (const name of names) {
      const file = join(dir, name)
      const blocks = readPemBlocks(await readFile(file, 'latin1'))
      if (blocks.length === 0) throw new TrustStoreError(`${file}: no PEM block found`)
      for (const block of blocks) {
        try {
          if (block.label === 'CERTIFICATE') {
            const cert = decodeCaCertificate(block.der, file)
            ;(isSelfSigned(cert) ? anchors : intermediates).push(cert)
          } else if (block.label === 'X509 CRL') {
            crls.push(decodeCrl(block.der, file))
          } else {
            throw new TrustStoreError(`${file}: unexpected PEM block "${block.label}" (private keys never belong in a trust store)`)
          }
        } catch (err) {
          if (err instanceof TrustStoreError) throw err
          throw new TrustStoreError(`${file}: cannot decode ${block.label}: ${(err as Error).message}`)
        }
      }
    }
    if (anchors.length === 0) throw new TrustStoreError(`trust store ${dir} holds no trust anchor (self-signed CA certificate)`)
    return new TrustStore(dir, anchors, intermediates, crls, new Date())
  }

  /**
   * This store with more CAs (the admin-added ones of the database, src/pki/stored-cas.ts): a new
   * store with a new generation. Each is classified like a file's (self-signed: anchor); one
   * already held (same fingerprint) is skipped. The CRL list stays: merge stored CRLs after this,
   * so that CRLs of the added CAs verify.
   */
  withCertificates (extra: ReadonlyArray<{ der: Uint8Array, source: string }>): TrustStore {
    if (extra.length === 0) return this
    const held = new Set([...this.anchors, ...this.intermediates].map((c) => c.node.fingerprint256))
    const anchors = [...this.anchors]
    const intermediates = [...this.intermediates]
    for (const { der, source } of extra) {
      const cert = decodeCaCertificate(new Uint8Array(der), source)
      if (held.has(cert.node.fingerprint256)) continue
      held.add(cert.node.fingerprint256)
      ;(isSelfSigned(cert) ? anchors : intermediates).push(cert)
    }
    return new TrustStore(this.dir, anchors, intermediates, this.crls, new Date())
  }

  reload (): Promise<TrustStore> {
    return TrustStore.load(this.dir)
  }

  /**
   * The same anchors and intermediates with another CRL list: a new store, with a new generation
   * (so no path validation cached under the old CRLs is reused). The caller has checked the CRLs
   * (crl-verify.ts mergeCrls); this only swaps the list.
   */
  withCrlList (crls: readonly LoadedCrl[]): TrustStore {
    return new TrustStore(this.dir, this.anchors, this.intermediates, [...crls], new Date())
  }

  /** CRL freshness report, for the CLI, the readiness check and the signature log. */
  crlFreshness (now = new Date()): CrlFreshness[] {
    return this.crls.map((crl) => ({
      issuer: crl.issuer,
      file: crl.file,
      crlNumber: crl.crlNumber,
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate?.toISOString() ?? null,
      fresh: crl.thisUpdate <= now && (crl.nextUpdate == null || crl.nextUpdate > now)
    }))
  }
}

/** One CA certificate (DER); throws TrustStoreError for anything that is not a CA. */
export function decodeCaCertificate (der: Uint8Array<ArrayBuffer>, source: string): LoadedCertificate {
  let cert: LoadedCertificate
  try {
    cert = { pkijs: pkijs.Certificate.fromBER(der), node: new X509Certificate(der), file: source }
  } catch (err) {
    throw new TrustStoreError(`${source}: cannot decode CERTIFICATE: ${(err as Error).message}`)
  }
  if (!cert.node.ca) throw new TrustStoreError(`${source}: ${distinguishedName(cert.pkijs.subject)} is not a CA certificate; only CAs belong in the trust store`)
  return cert
}

/** A trust anchor: issued by itself, signed by its own key. */
export function isSelfSigned (cert: LoadedCertificate): boolean {
  return cert.node.checkIssued(cert.node) && cert.node.verify(cert.node.publicKey)
}

const CRL_NUMBER_OID = '2.5.29.20'

/** Decodes one DER CRL (throws on malformed input); `file` says where it came from. */
export function decodeCrl (der: Uint8Array<ArrayBuffer>, file: string): LoadedCrl {
  const crl = pkijs.CertificateRevocationList.fromBER(der)
  const numberExt = crl.crlExtensions?.extensions.find((e) => e.extnID === CRL_NUMBER_OID)
  let crlNumber: string | null = null
  if (numberExt?.parsedValue != null) {
    crlNumber = BigInt('0x' + Buffer.from((numberExt.parsedValue as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView).toString('hex')).toString()
  }
  return {
    pkijs: crl,
    issuer: distinguishedName(crl.issuer),
    thisUpdate: crl.thisUpdate.value,
    nextUpdate: crl.nextUpdate?.value,
    crlNumber,
    file,
    der
  }
}

/** A readable DN for reports (RFC 4514-ish, most significant last like OpenSSL's one-line form). */
export function distinguishedName (name: pkijs.RelativeDistinguishedNames): string {
  const short: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU', '0.9.2342.19200300.100.1.1': 'UID', '2.5.4.5': 'serialNumber' }
  return name.typesAndValues.map((tv) => `${short[tv.type] ?? tv.type}=${String(tv.value.valueBlock.value)}`).join(', ')
}
