/**
 * Fetching one CRL from its distribution URL: bounded in time and size, DER or PEM accepted, and
 * nothing is returned unless a CA of the trust store signed it and it is current. HTTP (not only
 * HTTPS) is fine for CRLs: the signature, not the transport, is what makes one trustworthy.
 */
import { createHash } from 'node:crypto'
import { readPemBlocks } from './pem.js'
import { CrlRefusedError, verifyCrl, type CrlRefusalCode } from './crl-verify.js'
import { decodeCrl, type LoadedCertificate, type LoadedCrl, type TrustStore } from './trust-store.js'

export type CrlFetchErrorCode =
  | CrlRefusalCode
  | 'CRL_URL_INVALID'
  | 'CRL_UNREACHABLE'
  | 'CRL_TIMEOUT'
  | 'CRL_HTTP_STATUS'
  | 'CRL_TOO_LARGE'
  | 'CRL_STALE'
  | 'CRL_NOT_YET_VALID'

export class CrlFetchError extends Error {
  constructor (readonly code: CrlFetchErrorCode, readonly url: string, message: string) {
    super(message)
    this.name = 'CrlFetchError'
  }
}

export interface CrlFetchOptions {
  /** Whole request, body included. */
  timeoutMs: number
  maxBytes: number
  /** Clock for the thisUpdate/nextUpdate checks. */
  now?: Date
}

/** Large national CAs publish CRLs of tens of MB; anything beyond this is refused, not buffered. */
export const DEFAULT_CRL_FETCH: CrlFetchOptions = { timeoutMs: 30_000, maxBytes: 64 * 1024 * 1024 }

/** A CRL's thisUpdate may be this far in the future (issuer clock ahead of ours). */
const CLOCK_SKEW_MS = 5 * 60 * 1000

export interface VerifiedCrl {
  url: string
  crl: LoadedCrl
  signer: LoadedCertificate
  /** SHA-256 of the DER, hex. */
  sha256: string
}

/** GET `url`, verify what comes back against `store`; throws CrlFetchError with a stable code. */
export async function fetchVerifiedCrl (url: string, store: TrustStore, options: CrlFetchOptions = DEFAULT_CRL_FETCH): Promise<VerifiedCrl> {
  const body = await downloadCrl(url, options)
  let crl: LoadedCrl
  try {
    crl = decodeCrl(crlDer(body), url)
  } catch (err) {
    throw new CrlFetchError('CRL_MALFORMED', url, `${url}: not a CRL (DER or PEM): ${(err as Error).message}`)
  }
  let signer: LoadedCertificate
  try {
    signer = await verifyCrl(store, crl)
  } catch (err) {
    if (err instanceof CrlRefusedError) throw new CrlFetchError(err.code, url, `${url}: ${err.message}`)
    throw err
  }
  const now = options.now ?? new Date()
  if (crl.thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    throw new CrlFetchError('CRL_NOT_YET_VALID', url, `${url}: CRL of ${crl.issuer} has thisUpdate ${crl.thisUpdate.toISOString()}, in the future`)
  }
  if (crl.nextUpdate != null && crl.nextUpdate.getTime() <= now.getTime()) {
    throw new CrlFetchError('CRL_STALE', url, `${url}: CRL of ${crl.issuer} went stale at ${crl.nextUpdate.toISOString()} (the publisher has not issued a newer one)`)
  }
  return { url, crl, signer, sha256: createHash('sha256').update(crl.der).digest('hex') }
}

/** The response body, at most `maxBytes`, within `timeoutMs` from the request to the last byte. */
export async function downloadCrl (url: string, options: Pick<CrlFetchOptions, 'timeoutMs' | 'maxBytes'>): Promise<Uint8Array> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new CrlFetchError('CRL_URL_INVALID', url, `${url}: not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CrlFetchError('CRL_URL_INVALID', url, `${url}: only http and https CRL URLs are fetched`)
  const signal = AbortSignal.timeout(options.timeoutMs)
  try {
    const res = await fetch(parsed, { signal, headers: { accept: 'application/pkix-crl, application/x-pkcs7-crl;q=0.9, */*;q=0.5' } })
    if (!res.ok) {
      // Only frees the connection; the error thrown next is what matters.
      await res.body?.cancel().catch(() => {})
      throw new CrlFetchError('CRL_HTTP_STATUS', url, `${url}: HTTP ${res.status}`)
    }
    const declared = Number(res.headers.get('content-length') ?? NaN)
    if (declared > options.maxBytes) {
      // Only frees the connection; the error thrown next is what matters.
      await res.body?.cancel().catch(() => {})
      throw tooLarge(url, options.maxBytes)
    }
    const chunks: Uint8Array[] = []
    let size = 0
    if (res.body != null) {
      for await (const chunk of res.body) {
        size += chunk.byteLength
        // Checked as the bytes arrive: a lying or missing Content-Length never makes us buffer more.
        if (size > options.maxBytes) throw tooLarge(url, options.maxBytes)
        chunks.push(chunk)
      }
    }
    return Buffer.concat(chunks)
  } catch (err) {
    if (err instanceof CrlFetchError) throw err
    if (signal.aborted) throw new CrlFetchError('CRL_TIMEOUT', url, `${url}: no complete answer within ${options.timeoutMs} ms`)
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    throw new CrlFetchError('CRL_UNREACHABLE', url, `${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
  }
}

function tooLarge (url: string, maxBytes: number): CrlFetchError {
  return new CrlFetchError('CRL_TOO_LARGE', url, `${url}: CRL larger than ${maxBytes} bytes`)
}

/** DER as served (application/pkix-crl), or the first X509 CRL block of a PEM text. */
export function crlDer (body: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = Buffer.from(body.subarray(0, 64)).toString('latin1').trimStart()
  if (head.startsWith('-----BEGIN')) {
    const block = readPemBlocks(Buffer.from(body).toString('latin1')).find((b) => b.label === 'X509 CRL')
    if (block == null) throw new Error('PEM without an X509 CRL block')
    return block.der
  }
  return new Uint8Array(body)
}
