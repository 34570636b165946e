import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { defaultPolicy, type VerificationPolicy } from '../../src/verification/verification-policy.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const PKI = join(ROOT, 'certs-example')
export const FIXTURES = join(ROOT, 'test', 'fixtures')

/** The verification policy over the committed example PKI and demo registry. */
export async function examplePolicy (overrides: Partial<VerificationPolicy> & { trustDir?: string } = {}): Promise<VerificationPolicy> {
  const { trustDir, ...rest } = overrides
  const policy = defaultPolicy(await TrustStore.load(trustDir ?? join(PKI, 'trust')), await AgencyRegistry.load(join(PKI, 'registry.json')))
  return { ...policy, ...rest }
}
