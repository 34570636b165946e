/** Inputs shared by the benchmark processes: agency G22's signing material from certs-example/. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PKI } from '../../test/helpers/example-pki.js'

export const readText = (path: string): string => readFileSync(path, 'utf8')

const G22_DIR = join(PKI, 'agencies', '000.00.00.G22')

export const G22 = {
  keyPem: readText(join(G22_DIR, 'key.pem')),
  /** The leaf certificate alone: what a naive integrator pins as `publicCert`. */
  certificatePem: readText(join(G22_DIR, 'cert.pem')),
  chainPem: readText(join(G22_DIR, 'chain.pem'))
}

export const TRUST_DIR = join(PKI, 'trust')
