import { constants, createHash, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import { canonicalize, canonicalizeTo, withoutComments } from './c14n.js'
import { HASH_OF, type SignatureProfile } from './signature-profile.js'
import { refuse } from './xmldsig-failure.js'
import type { XmlDocument } from './xml-tree.js'

/** Pieces of canonical output are handed to the hash in blocks of about this many characters. */
const HASH_BLOCK = 1 << 16
/** Slices of the input shorter than this are cheaper to join than to hash on their own. */
const SMALL_SLICE = 256

/**
 * The cryptographic check of a profile-checked signature with the *validated* signer key
 * (never a key from KeyInfo): the digest of the canonical document minus the signature, then
 * the RSA signature over canonical SignedInfo. Both canonical forms come from our C14N over
 * the tokens the envelope is read from, so what is routed is what was digested: by default
 * over the tree, or `referenceDigest` computed while that tree was parsed (stream-c14n.ts).
 *
 * A digest mismatch (content changed) and a bad signature value are two reason codes.
 */
export function checkSignature (doc: XmlDocument, profile: SignatureProfile, signerPem: string, referenceDigest: () => Buffer = () => digestReferencedContent(doc, profile)): void {
  const actual = referenceDigest()
  if (actual.length !== profile.digestValue.length || !timingSafeEqual(actual, profile.digestValue)) {
    refuse('DIGEST_MISMATCH', 'the digest of the signed content does not match: the document was changed after it was signed')
  }
  const signedInfo = Buffer.from(canonicalize(doc, { method: profile.canonicalization, apex: profile.signedInfo, inclusivePrefixes: profile.signedInfoPrefixes }), 'utf8')
  const key = rsaKey(signerPem)
  let valid: boolean
  try {
    valid = verify(HASH_OF[profile.signatureMethod] as string, signedInfo, { key, padding: constants.RSA_PKCS1_PADDING }, profile.signatureValue)
  } catch (err) {
    refuse('SIGNATURE_INVALID', `the signature value cannot be checked (${(err as Error).message.split('\n')[0]?.slice(0, 120) ?? ''})`)
  }
  if (!valid) refuse('SIGNATURE_INVALID', 'the signature value does not verify with the signer certificate')
}

/**
 * URI="" and "#rootId" both select the document without comments (XML-DSig §4.3.3.3), so the
 * reference is always canonicalised without comments, whatever variant the transform names.
 */
export function digestReferencedContent (doc: XmlDocument, profile: SignatureProfile): Buffer {
  const hash = createHash(HASH_OF[profile.digestMethod] as string)
  // Small strings (tags, escaped text) are gathered so the hash sees few large updates; slices
  // of the input go to it as they are.
  let pending = ''
  canonicalizeTo(doc, {
    method: withoutComments(profile.referenceCanonicalization),
    ...(profile.referenceUri === '' ? {} : { apex: doc.root }),
    exclude: profile.signature,
    inclusivePrefixes: profile.referencePrefixes
  }, (chunk) => {
    if (typeof chunk === 'string') {
      pending += chunk
      if (pending.length < HASH_BLOCK) return
    } else if (chunk.length < SMALL_SLICE) {
      pending += chunk.toString('utf8')
      return
    } else {
      if (pending !== '') hash.update(pending, 'utf8')
      hash.update(chunk)
      pending = ''
      return
    }
    hash.update(pending, 'utf8')
    pending = ''
  })
  if (pending !== '') hash.update(pending, 'utf8')
  return hash.digest()
}

/**
 * Keys of recent signers, by PEM: parsing the PEM is most of a small document's RSA cost, and a
 * hub sees the same few hundred agency certificates again and again. A KeyObject is immutable,
 * so sharing it is safe; the map is emptied when full, which bounds it.
 */
const KEYS = new Map<string, KeyObject>()
const MAX_KEYS = 1024

function rsaKey (pem: string): KeyObject {
  const cached = KEYS.get(pem)
  if (cached !== undefined) return cached
  const key = parseRsaKey(pem)
  if (KEYS.size >= MAX_KEYS) KEYS.clear()
  KEYS.set(pem, key)
  return key
}

function parseRsaKey (pem: string): KeyObject {
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch (err) {
    return refuse('SIGNATURE_INVALID', `the signer key cannot be read (${(err as Error).message.slice(0, 120)})`)
  }
  // The profile allows RSA only: an EC key would make node verify ECDSA under an RSA URI.
  if (key.asymmetricKeyType !== 'rsa') refuse('ALGORITHM_FORBIDDEN', `the signer key is ${key.asymmetricKeyType ?? 'unknown'}, the signature method needs RSA`)
  return key
}
