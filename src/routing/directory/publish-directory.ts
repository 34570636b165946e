/**
 * What this hub publishes at GET /.well-known/lienthong/directory: the agencies of its registry,
 * signed with its hub key. The version and times come from PostgreSQL (directory_publication),
 * so every replica serves the same bytes for the same state; a new version is issued when the
 * registry's published content changes, or when less than half the validity is left (so a peer
 * polling at any reasonable interval never holds a directory that runs out).
 */
import { createHash } from 'node:crypto'
import type { Database } from '../../db/database.js'
import type { HubIdentity } from '../../evidence/hub-identity.js'
import type { AgencyEntry } from '../../registry/registry-format.js'
import { currentPublication } from '../../store/directory-publication.js'
import type { DirectoryAgency, HubDirectory } from './directory-format.js'
import { signDirectory } from './directory-signature.js'

export interface PublishedDirectory {
  directory: HubDirectory
  /** The signed XML, as served. */
  bytes: Buffer
  /** Strong ETag: the quoted SHA-256 of the bytes. */
  etag: string
}

export interface DirectoryPublisherOptions {
  db: Database
  hubId: string
  hub: HubIdentity
  /** The registry's agencies now (read on every issue, so a reloaded registry counts). */
  agencies: () => readonly AgencyEntry[]
  /** How long an issued directory is valid (LIENTHONG_DIRECTORY_VALIDITY_MS). */
  validityMs: number
  now?: () => Date
}

/** How long a replica serves what it signed before asking the database again. */
const MEMO_MS = 15_000

/** The registry entry as published: endpoints and their pins stay private. */
export function directoryAgencyOf (entry: AgencyEntry): DirectoryAgency {
  return {
    code: entry.code,
    name: entry.name.trim(),
    receives: entry.delivery.mode,
    signerFingerprints: [...new Set(entry.certificates.map((f) => f.replaceAll(':', '').toLowerCase()))].sort(),
    ...(entry.subjectRule != null ? { subjectRule: { ...entry.subjectRule } } : {})
  }
}

export class DirectoryPublisher {
  private memo: { key: string, at: number, published: PublishedDirectory } | undefined
  private readonly now: () => Date

  constructor (private readonly options: DirectoryPublisherOptions) {
    this.now = options.now ?? (() => new Date())
  }

  async current (): Promise<PublishedDirectory> {
    const now = this.now()
    const agencies = this.options.agencies().map(directoryAgencyOf).sort((a, b) => a.code < b.code ? -1 : a.code > b.code ? 1 : 0)
    const content = createHash('sha256').update(JSON.stringify(agencies)).digest('hex')
    const key = `${content}|${this.options.hub.fingerprintSha256}`
    const memo = this.memo
    const reissueBeforeMs = Math.floor(this.options.validityMs / 2)
    if (memo != null && memo.key === key && now.getTime() - memo.at < MEMO_MS && memo.at <= now.getTime() &&
      memo.published.directory.validUntil.getTime() - now.getTime() > reissueBeforeMs) return memo.published

    const publication = await currentPublication(this.options.db, this.options.hubId, content, now, this.options.validityMs, reissueBeforeMs)
    const directory: HubDirectory = { hubId: this.options.hubId, version: publication.version, issuedAt: publication.issuedAt, validUntil: publication.validUntil, agencies }
    const bytes = memo?.published.directory.version === directory.version && memo.key === key ? memo.published.bytes : Buffer.from(signDirectory(directory, this.options.hub), 'utf8')
    const published = { directory, bytes, etag: `"${createHash('sha256').update(bytes).digest('hex')}"` }
    this.memo = { key, at: now.getTime(), published }
    return published
  }
}
