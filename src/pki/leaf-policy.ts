import type { X509Certificate } from 'node:crypto'
import type * as pkijs from 'pkijs'
import { fail } from '../errors/verification-failure.js'

export const MIN_RSA_BITS = 2048

const KEY_USAGE_OID = '2.5.29.15'
const BASIC_CONSTRAINTS_OID = '2.5.29.19'
// keyUsage is a BIT STRING, most significant bit first: digitalSignature (0), nonRepudiation (1).
const DIGITAL_SIGNATURE = 0x80
const NON_REPUDIATION = 0x40

/**
 * security.md step 4, the parts a path validator does not do for the end-entity certificate
 * (pkijs does not look at the leaf's keyUsage at all): the signer must not be a CA, must be
 * allowed to sign (digitalSignature or nonRepudiation, and the extension must be present: a
 * government signing certificate without it is mis-issued) and must carry an RSA key of at
 * least 2048 bits.
 */
export function checkLeafUsage (leaf: pkijs.Certificate, node: X509Certificate): void {
  const extensions = leaf.extensions ?? []
  const basic = extensions.find((e) => e.extnID === BASIC_CONSTRAINTS_OID)?.parsedValue as { cA?: boolean } | undefined
  if (basic?.cA === true || node.ca) fail('CERT_USAGE', 'the signer certificate is a CA certificate (basicConstraints cA=true)')
  const usage = extensions.find((e) => e.extnID === KEY_USAGE_OID)?.parsedValue as { valueBlock: { valueHexView: Uint8Array } } | undefined
  if (usage == null) fail('CERT_USAGE', 'the signer certificate has no keyUsage extension')
  const firstByte = usage.valueBlock.valueHexView[0] ?? 0
  if ((firstByte & (DIGITAL_SIGNATURE | NON_REPUDIATION)) === 0) fail('CERT_USAGE', 'the signer certificate allows neither digitalSignature nor nonRepudiation')
  if (node.publicKey.asymmetricKeyType !== 'rsa') fail('CERT_USAGE', `the signer key is ${node.publicKey.asymmetricKeyType ?? 'unknown'}, not RSA`)
  const keyBits = node.publicKey.asymmetricKeyDetails?.modulusLength ?? 0
  if (keyBits < MIN_RSA_BITS) fail('CERT_USAGE', `the signer RSA key has ${keyBits} bits; at least ${MIN_RSA_BITS} are required`)
}

/** Subject attribute values by OID (for registry subject rules). */
export function subjectAttributeMap (cert: pkijs.Certificate): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const tv of cert.subject.typesAndValues) {
    const values = map.get(tv.type) ?? []
    values.push(String(tv.value.valueBlock.value))
    map.set(tv.type, values)
  }
  return map
}
