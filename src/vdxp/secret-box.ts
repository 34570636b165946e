import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * VDXP system secrets at rest. The VDXP HMAC is keyed with the secret itself, so the hub must be
 * able to recover it: hashing (as for API keys) is impossible. Each secret is sealed with
 * AES-256-GCM under the hub's VDXP key, bound to its system id (additional data).
 */
const IV_BYTES = 12
const TAG_BYTES = 16

export function sealSecret (key: Buffer, systemId: string, secret: string): Buffer {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(systemId, 'utf8'))
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()])
}

/** The plaintext secret; throws when the key is not the one it was sealed with (or the row was altered). */
export function openSecret (key: Buffer, systemId: string, sealed: Buffer): string {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error(`the sealed secret of ${systemId} is truncated`)
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES))
  decipher.setAAD(Buffer.from(systemId, 'utf8'))
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8')
}

/** A fresh secret for a system: 32 random bytes, base64 (what agency IT staff paste into their SDK config). */
export function newSecret (): string {
  return randomBytes(32).toString('base64')
}

/**
 * The 32-byte key that seals VDXP secrets: LIENTHONG_VDXP_SECRET_KEY (base64 or hex of 32 bytes)
 * or, when unset, derived from the hub's private signing key file (HKDF-SHA256): whoever holds
 * that file can already sign receipts as the hub, so it adds no new secret to guard; rotating the
 * hub key then means re-issuing every VDXP secret (docs/vdxp-compat.md).
 */
export function deriveVdxpKey (configured: string | undefined, hubKeyPem: Buffer): Buffer {
  if (configured != null) return parseVdxpKey(configured)
  return Buffer.from(hkdfSync('sha256', hubKeyPem, Buffer.alloc(0), 'lienthong vdxp system secrets v1', 32))
}

export function parseVdxpKey (text: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64')
  if (key.length !== 32) throw new Error('LIENTHONG_VDXP_SECRET_KEY must be 32 bytes, as 64 hex digits or base64')
  return key
}
