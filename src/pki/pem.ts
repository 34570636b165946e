/** One PEM block: its label (CERTIFICATE, X509 CRL, ...) and DER bytes. */
export interface PemBlock {
  label: string
  der: Uint8Array<ArrayBuffer>
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g

export function readPemBlocks (text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1] as string, der: base64ToDer(m[2] as string) }))
}

export function toPem (label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n')
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`
}

/** DER bytes in a plain ArrayBuffer (what WebCrypto/pkijs expect), from base64 with any whitespace. */
export function base64ToDer (b64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(Buffer.from(b64.replace(/\s+/g, ''), 'base64'))
}
