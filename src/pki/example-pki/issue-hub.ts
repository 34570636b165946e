// Issues one more hub identity into an existing example PKI, with the issuing CA key `pki init`
// keeps in ca/, so a test topology can grow without regenerating (and re-fingerprinting) everything.
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as pkijs from 'pkijs'
import { ISSUING_CRL_URL, LEAF_KEY_BITS, examplePkiDates } from './build.js'
import { TRUST_DIR, type ExamplePkiFile } from './files.js'
import { exampleHub, issueHubIdentity, type ExampleHub } from './hubs.js'
import type { Issued } from './issue.js'
import { certificatePem, generateRsaKeyPair, importRsaKeyPair, pemToDer, privateKeyPem } from './keys.js'
import { HUB_FILES, ISSUING_CA_KEY_PATH } from './layout.js'
import { assertWritable, writeExamplePkiFiles } from './write.js'

export class MissingCaKeyError extends Error {
  constructor (readonly path: string) {
    super(`${path} is missing: this example PKI was generated without its CA keys; regenerate it with \`lienthong pki init DIR --force\``)
    this.name = 'MissingCaKeyError'
  }
}

async function readText (path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingCaKeyError(path)
    throw err
  }
}

/** The issuing CA of the PKI in `dir`: its certificate from trust/ and its key from ca/, checked to match. */
export async function loadIssuingCa (dir: string): Promise<Issued> {
  const certPath = join(dir, TRUST_DIR, 'issuing-ca.pem')
  const keyPath = join(dir, ISSUING_CA_KEY_PATH)
  const [certPem, keyPem] = await Promise.all([readText(certPath), readText(keyPath)])
  const x509 = new X509Certificate(certPem)
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' })
  // A key from another run would sign certificates that chain to nothing: refuse it here.
  if (!createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }).equals(spki)) {
    throw new Error(`${keyPath} is not the key of ${certPath}`)
  }
  const der = pemToDer(certPem, 'CERTIFICATE')
  const keys = await importRsaKeyPair(pemToDer(keyPem, 'PRIVATE KEY'), Uint8Array.from(spki).buffer)
  return { cert: pkijs.Certificate.fromBER(der), der, keys }
}

export interface IssueHubOptions {
  /** Reference time of the validity period (default: the current time). */
  now?: Date
  /** Overwrite the hub's directory if it already holds files. */
  force?: boolean
}

/**
 * Writes `hubs/<id>/` (or `hub/` for id `hub`, with `force`) into the example PKI in `dir`: a signing
 * and a TLS certificate as `pki init` makes them, valid 5 years but never past the issuing CA.
 */
export async function issueExampleHub (dir: string, id: string, options: IssueHubOptions = {}): Promise<{ hub: ExampleHub, files: ExamplePkiFile[] }> {
  const hub = exampleHub(id)
  await assertWritable(join(dir, hub.dir), options.force ?? false)
  const issuing = await loadIssuingCa(dir)
  const { leaf } = examplePkiDates(options.now ?? new Date())
  const caEnd = issuing.cert.notAfter.value
  const validity = { notBefore: leaf.notBefore, notAfter: leaf.notAfter > caEnd ? caEnd : leaf.notAfter }
  const [signingKeys, tlsKeys] = await Promise.all([generateRsaKeyPair(LEAF_KEY_BITS), generateRsaKeyPair(LEAF_KEY_BITS)])
  const { signing, tls } = await issueHubIdentity({ hub, issuing, validity, crlUrl: ISSUING_CRL_URL, signingKeys, tlsKeys })
  const files: ExamplePkiFile[] = [
    { path: `${hub.dir}/${HUB_FILES.signingKey}`, content: await privateKeyPem(signing.keys), secret: true },
    { path: `${hub.dir}/${HUB_FILES.signingCert}`, content: certificatePem(signing.der), secret: false },
    { path: `${hub.dir}/${HUB_FILES.tlsKey}`, content: await privateKeyPem(tls.keys), secret: true },
    { path: `${hub.dir}/${HUB_FILES.tlsCert}`, content: certificatePem(tls.der), secret: false }
  ]
  // The PKI directory is not empty by design; the hub's own directory was checked above.
  await writeExamplePkiFiles(dir, files, true)
  return { hub, files }
}
