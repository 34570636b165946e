import { acceptSubmission, type AcceptDependencies, type AcceptOutcome } from '../accept/accept-submission.js'

/**
 * The accept path for a document or status fetched from an upstream: the same verification,
 * duplicate rule, signature log, receipts and deliveries as POST /v1/documents, with the upstream
 * as the source. Nobody authenticated as the sender (the upstream vouches for no agency), so the
 * signature is the only proof of it: never accepted unsigned. The signature log records
 * `upstream:<id>` as the authenticated party.
 */
export function acceptFromUpstream (deps: AcceptDependencies, upstreamId: string): (bytes: Buffer, upstreamDocId: string) => Promise<AcceptOutcome> {
  const principal = `upstream:${upstreamId}`
  return async (bytes, upstreamDocId) => await acceptSubmission(deps, {
    bytes,
    auth: { agencyCode: principal, credentialId: principal, via: 'upstream' },
    requestId: `${principal}:${upstreamDocId}`.slice(0, 200),
    source: { upstreamId }
  })
}
