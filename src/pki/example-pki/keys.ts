// Key generation and PEM / fingerprint helpers for the example PKI.
import { createHash, webcrypto } from 'node:crypto'
import * as pkijs from 'pkijs'

/** A private pkijs engine on Node's WebCrypto (the global pkijs engine is left alone). */
export const engine = new pkijs.CryptoEngine({ name: 'example-pki', crypto: webcrypto as unknown as Crypto })

export const RSA_ALGORITHM = 'RSASSA-PKCS1-v1_5'

/** An RSA key pair for RSASSA-PKCS1-v1_5 with SHA-256 (sha256WithRSAEncryption). */
export async function generateRsaKeyPair (modulusLength: number): Promise<CryptoKeyPair> {
  const keys = await webcrypto.subtle.generateKey(
    { name: RSA_ALGORITHM, modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify']
  )
  return keys as unknown as CryptoKeyPair
}

export async function publicKeyInfo (keys: CryptoKeyPair): Promise<pkijs.PublicKeyInfo> {
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey as unknown as webcrypto.CryptoKey)
  return pkijs.PublicKeyInfo.fromBER(spki)
}

function toPem (label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
export async function privateKeyPem (keys: CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey)
  return toPem('PRIVATE KEY', der)
}

export function certificatePem (der: ArrayBuffer): string {
  return toPem('CERTIFICATE', der)
}

export function crlPem (der: ArrayBuffer): string {
  return toPem('X509 CRL', der)
}

/** SHA-256 of the certificate DER, lowercase hex without colons (the registry's format). */
export function fingerprint (der: ArrayBuffer): string {
  return createHash('sha256').update(Buffer.from(der)).digest('hex')
}

/** DER of the first PEM block labelled `label` (CERTIFICATE, PRIVATE KEY, ...). */
export function pemToDer (pem: string, label: string): ArrayBuffer {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem)
  if (match?.[1] === undefined) throw new Error(`no ${label} PEM block`)
  return Uint8Array.from(Buffer.from(match[1].replace(/\s+/g, ''), 'base64')).buffer
}

/** Imports a PKCS#8 RSA private key and its certificate's public key as a pair that signs with SHA-256. */
export async function importRsaKeyPair (pkcs8: ArrayBuffer, spki: ArrayBuffer): Promise<CryptoKeyPair> {
  const algorithm = { name: RSA_ALGORITHM, hash: 'SHA-256' }
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, true, ['sign']),
    webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify'])
  ])
  return { privateKey, publicKey } as unknown as CryptoKeyPair
}
