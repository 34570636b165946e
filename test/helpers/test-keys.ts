import { createPrivateKey, createPublicKey } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateRsaKeyPair, importRsaKeyPair, pemToDer } from '../../src/pki/example-pki/keys.js'
import { FIXTURES } from './example-pki.js'

/**
 * Throw-away RSA key pairs for the certificates a test issues (server-pki, hub-tls,
 * hub-directory-pki, buildExamplePki in the CRL tests), taken from the committed pools
 * test/fixtures/keys/rsa-<bits>.pem (`npm run fixtures:keys`) instead of generated: key generation
 * was most of the CPU these test PKIs cost. Each call in a process returns a key not returned
 * before in that process (the next one of its pool), so two identities of one test never share a
 * key; once a pool is used up, keys are generated as before. Certificates are still issued fresh
 * by every process, and nothing outside a test run trusts these keys.
 */
const pools = new Map<number, { pems: string[], next: number }>()

function pool (bits: number): { pems: string[], next: number } {
  let found = pools.get(bits)
  if (found == null) {
    const file = join(FIXTURES, 'keys', `rsa-${bits}.pem`)
    const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
    found = { pems: text.match(/-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----\n/g) ?? [], next: 0 }
    pools.set(bits, found)
  }
  return found
}

/** How many pooled keys of `bits` this process has not used yet. */
export function pooledKeysLeft (bits = 2048): number {
  const { pems, next } = pool(bits)
  return pems.length - next
}

/** The next unused RSA key pair of `bits` (RSASSA-PKCS1-v1_5 with SHA-256, extractable), as generateRsaKeyPair gives. */
export async function testRsaKeyPair (bits = 2048): Promise<CryptoKeyPair> {
  const source = pool(bits)
  const pem = source.pems[source.next]
  if (pem === undefined) return await generateRsaKeyPair(bits)
  source.next++
  const spki = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' })
  return await importRsaKeyPair(pemToDer(pem, 'PRIVATE KEY'), Uint8Array.from(spki).buffer)
}
