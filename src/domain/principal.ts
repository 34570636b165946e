/**
 * A person (or a person's script) using the clerk, auditor and admin surfaces (console and
 * /api). Agency systems are not principals: they authenticate per scope as agencies.
 *
 * Role boundaries (security invariant): a clerk sees only documents its agency sent or received;
 * an auditor reads every agency's evidence but changes nothing; only an admin changes the
 * registry, the trust store and users.
 */
export type Role = 'clerk' | 'auditor' | 'admin'

export interface Principal {
  userId: string
  username: string
  role: Role
  /** The clerk's agency; null for auditors and admins. */
  agencyCode: string | null
  /** How the request authenticated: the console's session cookie or a personal API token. */
  via: 'session' | 'token'
}
