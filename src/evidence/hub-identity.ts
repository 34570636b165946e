import { createPrivateKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import * as pkijs from 'pkijs'
import { checkLeafUsage } from '../pki/leaf-policy.js'
import { readPemBlocks, toPem } from '../pki/pem.js'
import { VerificationFailure } from '../errors/verification-failure.js'

/** The hub's own signing key and certificate, loaded once at start and used to sign receipts. */
export interface HubIdentity {
  /** PKCS#8 PEM of the private key (never logged, never put in a receipt). */
  privateKeyPem: string
  /**
   * The same key parsed once, what every signature uses: importing the PEM again costs more
   * than the RSA signature it would serve.
   */
  privateKey: KeyObject
  /** The hub certificate followed by its chain (PEM), exactly what goes into KeyInfo/X509Data. */
  certificatePem: string
  /** The hub certificate (leaf). */
  certificate: X509Certificate
  /** SHA-256 of the leaf's DER, lower-case hex without separators (what `--hub-fingerprint` takes). */
  fingerprintSha256: string
  notAfter: Date
}

export interface HubIdentityFiles {
  keyFile: string
  /** The hub certificate; any further certificates in the file are taken as its chain. */
  certFile: string
  /** Intermediate CA certificates to send in KeyInfo after the hub certificate. */
  chainFile?: string
  /** The time the certificate must be valid at (default: now). */
  now?: Date
}

export class HubIdentityError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'HubIdentityError'
  }
}

/**
 * Reads the hub's key and certificate and refuses to start with a pair that could only produce
 * receipts nobody can verify: a key that is not the certificate's, a certificate that is expired or
 * not yet valid, a non-RSA key (receipts are RSA-SHA256), a certificate verifiers refuse as a signer
 * (CA, no signing keyUsage, RSA < 2048), or a chain file whose certificates do not issue one another. Path validation against a trust store is the verifier's
 * business, not checked here.
 */
export async function loadHubIdentity (files: HubIdentityFiles): Promise<HubIdentity> {
  const keyText = await readText(files.keyFile, 'private key')
  const certText = await readText(files.certFile, 'certificate')
  const chainText = files.chainFile != null ? await readText(files.chainFile, 'chain') : ''

  const privateKey = parsePrivateKey(keyText, files.keyFile)
  const [leaf, ...bundled] = readCertificates(certText, files.certFile)
  if (leaf == null) throw new HubIdentityError(`${files.certFile}: no CERTIFICATE block found`)
  const chain = [...bundled, ...readCertificates(chainText, files.chainFile ?? '')]

  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new HubIdentityError(`${files.keyFile}: the key is ${privateKey.asymmetricKeyType ?? 'unknown'}; receipts are signed with RSA-SHA256`)
  }
  if (!keyMatchesCertificate(privateKey, leaf)) {
    throw new HubIdentityError(`${files.keyFile} is not the private key of the certificate in ${files.certFile} (${oneLine(leaf.subject)})`)
  }
  // The leaf rules every verifier applies (not a CA, keyUsage allows signing, RSA >= 2048): a hub
  // certificate breaking them would sign receipts that every verifier refuses.
  try {
    checkLeafUsage(pkijs.Certificate.fromBER(Uint8Array.from(leaf.raw)), leaf)
  } catch (err) {
    if (err instanceof VerificationFailure) throw new HubIdentityError(`${files.certFile}: ${err.message}`)
    throw err
  }

  const now = files.now ?? new Date()
  const notBefore = new Date(leaf.validFrom)
  const notAfter = new Date(leaf.validTo)
  if (notAfter <= now) throw new HubIdentityError(`${files.certFile}: the hub certificate expired on ${notAfter.toISOString()}`)
  if (notBefore > now) throw new HubIdentityError(`${files.certFile}: the hub certificate is not valid before ${notBefore.toISOString()}`)

  // Each certificate must be issued by the next one, so KeyInfo carries one path, not a bag.
  const path = [leaf, ...chain]
  for (let i = 1; i < path.length; i++) {
    const child = path[i - 1] as X509Certificate
    const issuer = path[i] as X509Certificate
    if (!child.checkIssued(issuer) || !child.verify(issuer.publicKey)) {
      throw new HubIdentityError(`chain: ${oneLine(issuer.subject)} did not issue ${oneLine(child.subject)}`)
    }
  }

  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    privateKey,
    certificatePem: path.map((c) => toPem('CERTIFICATE', c.raw)).join(''),
    certificate: leaf,
    fingerprintSha256: fingerprintOf(leaf),
    notAfter
  }
}

/** SHA-256 fingerprint of a certificate, lower-case hex without separators. */
export function fingerprintOf (certificate: X509Certificate): string {
  return certificate.fingerprint256.replaceAll(':', '').toLowerCase()
}

async function readText (file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'latin1')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : (err as Error).message
    throw new HubIdentityError(`cannot read the hub ${what} ${file}: ${reason}`)
  }
}

function parsePrivateKey (pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem)
  } catch (err) {
    throw new HubIdentityError(`${file}: not a readable unencrypted private key (${(err as Error).message})`)
  }
}

function readCertificates (pem: string, file: string): X509Certificate[] {
  return readPemBlocks(pem).filter((b) => b.label === 'CERTIFICATE').map((b) => {
    try {
      return new X509Certificate(b.der)
    } catch (err) {
      throw new HubIdentityError(`${file}: a CERTIFICATE block cannot be decoded (${(err as Error).message})`)
    }
  })
}

/** Signs a probe with the key and checks it with the certificate's public key. */
function keyMatchesCertificate (privateKey: KeyObject, certificate: X509Certificate): boolean {
  const probe = Buffer.from('lienthong hub identity probe')
  const signature = sign('sha256', probe, privateKey)
  return verify('sha256', probe, certificate.publicKey, signature)
}

function oneLine (dn: string): string {
  return dn.split('\n').filter((s) => s !== '').join(', ')
}
