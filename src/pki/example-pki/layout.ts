// Paths inside an example PKI directory that `pki init` writes and `pki issue-hub` reads.

/**
 * The CAs' private keys, kept (outside trust/, which a hub loads) so that `pki issue-hub` can issue
 * another certificate without regenerating the PKI. A real CA never lets its key out; this one is public.
 */
export const CA_KEYS_DIR = 'ca'
export const ROOT_CA_KEY_PATH = `${CA_KEYS_DIR}/root-ca.key.pem`
export const ISSUING_CA_KEY_PATH = `${CA_KEYS_DIR}/issuing-ca.key.pem`

/** The file names of a hub identity directory (`hub/`, `hubs/<id>/`). */
export const HUB_FILES = {
  signingKey: 'signing-key.pem',
  signingCert: 'signing-cert.pem',
  tlsKey: 'tls-key.pem',
  tlsCert: 'tls-cert.pem'
} as const
