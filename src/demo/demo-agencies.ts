import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../paths.js'
import { signEdxml } from '../signing/sign-document.js'

/**
 * Who plays which part in `lienthong demo`, all from the demo registry (certs-example/): a sender
 * that receives by pull, so the status messages coming back to it are read from its inbox and no
 * second fixed port is needed, one push recipient (the hub POSTs to it) and one pull recipient
 * (it polls its inbox).
 */
export const DEMO_SENDER = '000.00.00.H41'
export const DEMO_PUSH_RECIPIENT = '000.00.00.G22'
export const DEMO_PULL_RECIPIENT = '000.00.00.G12'

const DEMO_PKI = join(PACKAGE_ROOT, 'certs-example')

/** Signs edXML as a demo agency, with its key, certificate and chain from certs-example/agencies/. */
export async function signAsDemoAgency (code: string, xml: string): Promise<Buffer> {
  const dir = join(DEMO_PKI, 'agencies', code)
  let key: string
  let certificate: string
  try {
    key = await readFile(join(dir, 'key.pem'), 'utf8')
    certificate = (await readFile(join(dir, 'cert.pem'), 'utf8')) + (await readFile(join(dir, 'chain.pem'), 'utf8'))
  } catch (err) {
    throw new Error(`no demo signing key for ${code} in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return Buffer.from(signEdxml(xml, { privateKeyPem: key, certificatePem: certificate }))
}

/**
 * The TLS identity of a demo agency's HTTPS endpoint. The demo PKI has one server certificate for
 * 127.0.0.1/localhost, the hub's own (serverAuth + clientAuth): recipients use it too, sent with
 * its issuing CA so the hub can build the path to the root it trusts (LIENTHONG_PUSH_SERVER_CA).
 * Client certificates are checked against the root and the issuing CA, because the hub may
 * present its leaf only.
 */
export async function demoRecipientTls (files: { cert?: string, key?: string, clientCa?: string } = {}): Promise<{ cert: Buffer, key: Buffer, ca: Buffer[] }> {
  const read = async (path: string): Promise<Buffer> => await readFile(path)
  const cert = files.cert != null
    ? await read(files.cert)
    : Buffer.concat([await read(join(DEMO_PKI, 'hub', 'tls-cert.pem')), await read(join(DEMO_PKI, 'trust', 'issuing-ca.pem'))])
  const key = await read(files.key ?? join(DEMO_PKI, 'hub', 'tls-key.pem'))
  const ca = files.clientCa != null
    ? [await read(files.clientCa)]
    : [await read(join(DEMO_PKI, 'trust', 'root-ca.pem')), await read(join(DEMO_PKI, 'trust', 'issuing-ca.pem'))]
  return { cert, key, ca }
}
