import { webcrypto } from 'node:crypto'
import t from 'tap'
import { RSA_ALGORITHM, privateKeyPem } from '../../src/pki/example-pki/keys.js'
import { pooledKeysLeft, testRsaKeyPair } from '../helpers/test-keys.js'

// The committed key pools of test/helpers/test-keys.ts stand in for generated keys in the test
// PKIs: each key must be what generateRsaKeyPair returns (size, algorithm, a matching pair,
// exportable as PKCS#8), and no key may come twice in one process, or two test identities
// would share a key and a test telling them apart would pass for the wrong reason.

const data = new TextEncoder().encode('pool')

for (const bits of [1024, 2048, 3072]) {
  t.test(`RSA-${bits}: distinct, matching, exportable key pairs${bits === 1024 ? '; a generated one once the pool is used up' : ''}`, async (t) => {
    const pooled = pooledKeysLeft(bits)
    t.ok(pooled >= (bits === 2048 ? 24 : 1), `the ${bits}-bit pool holds keys (${pooled})`)
    const seen = new Set<string>()
    // The fallback (generation) is checked on the cheapest size only.
    const wanted = bits === 1024 ? pooled + 1 : pooled
    for (let i = 0; i < wanted; i++) {
      const keys = await testRsaKeyPair(bits)
      const algorithm = keys.privateKey.algorithm as RsaHashedKeyAlgorithm
      t.equal(algorithm.name, RSA_ALGORITHM)
      t.equal(algorithm.modulusLength, bits)
      t.equal(algorithm.hash.name, 'SHA-256')
      const pem = await privateKeyPem(keys)
      t.notOk(seen.has(pem), `key ${i} not returned before`)
      seen.add(pem)
      const signature = await webcrypto.subtle.sign(RSA_ALGORITHM, keys.privateKey as webcrypto.CryptoKey, data)
      t.ok(await webcrypto.subtle.verify(RSA_ALGORITHM, keys.publicKey as webcrypto.CryptoKey, signature, data), `key ${i}: the public key verifies what the private key signed`)
    }
    t.equal(pooledKeysLeft(bits), 0, bits === 1024 ? 'the pool is used up; the last key was generated' : 'the pool is used up')
  })
}
