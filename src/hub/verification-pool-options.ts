import type { HubConfig } from '../config/config.js'
import type { VerificationPoolOptions } from '../verification/verification-pool.js'
import type { WorkerInputs } from './revocation-sync.js'

/**
 * The options of a hub process's verification pool: the trust directory and registry file of the
 * configuration, with the database's CRLs, trust CAs and agencies of `inputs` (revocation-sync.ts),
 * and the configured size cap, revocation rule, thread count and queue length. One definition for
 * the gateway's pool (start-hub.ts) and a `worker` process's upstream pool (start-worker.ts), so
 * that a document polled from an upstream axis is verified under exactly the rules of one
 * submitted to the gateway.
 */
export function verificationPoolOptions (config: HubConfig, inputs: WorkerInputs, onWorkerError?: (err: Error) => void): VerificationPoolOptions {
  return {
    ...inputs,
    trustDir: config.trustDir,
    registryFile: config.registryFile,
    maxBytes: config.maxBytes,
    requireRevocation: config.requireRevocation,
    ...(config.verifyThreads != null ? { threads: config.verifyThreads } : {}),
    ...(config.verifyQueue != null ? { maxQueue: config.verifyQueue } : {}),
    ...(onWorkerError != null ? { onWorkerError } : {})
  }
}
