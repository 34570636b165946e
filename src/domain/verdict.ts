import type { ReasonCode } from './reason-codes.js'

/** What the signer's certificate looked like, for the signature log and the CLI. */
export interface CertificateSummary {
  subject: string
  issuer: string
  serialNumber: string
  /** SHA-256 of the DER, lower-case hex without separators. */
  fingerprintSha256: string
  notBefore: string
  notAfter: string
  keyBits?: number
}

export interface AlgorithmsUsed {
  canonicalization?: string
  signature?: string
  digest?: string
  transforms?: string[]
}

/** Revocation facts established while validating the path (for the signature log). */
export interface RevocationResult {
  checked: boolean
  /** CRL numbers consulted, keyed by issuer subject. */
  crlNumbers: Record<string, string | null>
}

export interface AttachmentManifestEntry {
  contentId: string
  contentType?: string
  attachmentName?: string
  description?: string
}

export interface AgencyRef {
  organId: string
  organName?: string
}

/** StaffInfo of a status message (domain.md): each part only when the message carries it. */
export interface StaffInfo { department?: string, staff?: string, email?: string, mobile?: string }

/**
 * The routing-relevant fields, read only from the signed content (see extract-envelope.ts).
 * `kind` tells a document from a status message.
 */
export interface SignedEnvelope {
  kind: 'document' | 'status'
  from: AgencyRef
  to: AgencyRef[]
  documentId?: string
  code?: { number?: string, notation?: string }
  subject?: string
  documentType?: { type?: string, typeName?: string }
  promulgationDate?: string
  businessDocType?: string
  /** Bussiness/DocumentId: for recall/update/replace (types 1-3), the document being changed. */
  businessDocumentId?: string
  responseFor: { organId?: string, documentId?: string, code?: string }[]
  statusCode?: string
  /** Status messages: the recipient's Description of the status. */
  description?: string
  /** Status messages: StaffInfo, who at the recipient acted (shown on the sender's timeline). */
  staff?: StaffInfo
  attachments: AttachmentManifestEntry[]
}

/** weak: legacy algorithms the registry allows; unsigned-envelope: no XML-DSig, accepted on the registry's word (VDXP only). */
export type VerificationFlag = 'weak' | 'unsigned-envelope'

export interface Accepted {
  verdict: 'accepted'
  envelope: SignedEnvelope
  /** Absent only for an unsigned envelope the sender's registry entry allows (flag `unsigned-envelope`). */
  signer?: CertificateSummary
  chain: CertificateSummary[]
  agency: string
  algorithms: AlgorithmsUsed
  revocation: RevocationResult
  flags: VerificationFlag[]
  /** SHA-256 of the exact bytes received, hex. */
  digestSha256: string
  /**
   * Set only when verified with `forwarded` (a document a peer hub forwarded) whose sender is
   * neither an agency of this hub nor in the registry's `peerAgencies`: the certificate path and
   * the signature are checked, the sender binding is NOT. The caller must bind this signer to
   * `agency` itself (accept-forwarded.ts: the origin hub's signed directory) or refuse.
   */
  unboundSigner?: UnboundSigner
}

/** The signer's identity as sender binding reads it: plain data, so it crosses the worker thread boundary. */
export interface UnboundSigner {
  fingerprintSha256: string
  /** Attribute OID -> values, from the certificate subject. */
  subject: Record<string, string[]>
}

export interface Rejected {
  verdict: 'rejected'
  code: ReasonCode
  /** One human sentence with the specifics of this document. */
  detail: string
  /** What was learned before the rejection, for the signature log. */
  envelope?: SignedEnvelope
  claimedSender?: string
  signer?: CertificateSummary
  algorithms?: AlgorithmsUsed
  revocation?: RevocationResult
  digestSha256: string
}

export type Verdict = Accepted | Rejected
