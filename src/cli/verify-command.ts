import { readFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { AgencyRegistry } from '../registry/agency-registry.js'
import { TrustStore } from '../pki/trust-store.js'
import { REASON_CODES } from '../domain/reason-codes.js'
import { verifyDocument } from '../verification/verify-document.js'
import { DEFAULT_MAX_BYTES, type VerificationPolicy } from '../verification/verification-policy.js'
import type { Verdict } from '../domain/verdict.js'
import { DEMO_REGISTRY, DEMO_TRUST_DIR } from '../paths.js'
import { envTextOf } from '../config/env-text.js'
import type { EnvKey } from '../config/env-schema.js'

interface VerifyOptions {
  trust: string
  registry: string
  json?: boolean
  maxBytes: string
  at?: string
  revocation: 'require' | 'best-effort'
}

export function verifyCommand (): Command {
  return new Command('verify')
    .description('verify signed edXML files against the trust store and the agency registry')
    .argument('<file...>', 'edXML files to verify')
    .option('--trust <dir>', 'trust store directory (PEM anchors, intermediates, CRLs)', envTextOf('LIENTHONG_TRUST_DIR' satisfies EnvKey) ?? DEMO_TRUST_DIR)
    .option('--registry <file>', 'agency registry JSON', envTextOf('LIENTHONG_REGISTRY' satisfies EnvKey) ?? DEMO_REGISTRY)
    .option('--json', 'one JSON object per file on stdout')
    .option('--max-bytes <n>', 'size cap in bytes', String(DEFAULT_MAX_BYTES))
    .option('--at <iso-time>', 'verify as of this time instead of now')
    .addOption(new Option('--revocation <mode>', 'fail closed without fresh CRLs (require), or only check what is there').choices(['require', 'best-effort']).default('require'))
    .action(async (files: string[], options: VerifyOptions, command: Command) => {
      // A size cap that does not parse must stop the command: NaN would switch the cap off.
      const maxBytes = Number(options.maxBytes)
      if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) command.error(`--max-bytes: "${options.maxBytes}" is not a positive whole number of bytes`, { exitCode: 2 })
      const policy: VerificationPolicy = {
        trustStore: await TrustStore.load(options.trust),
        registry: await AgencyRegistry.load(options.registry),
        maxBytes,
        maxDepth: 64,
        requireRevocation: options.revocation === 'require'
      }
      if (options.at != null) {
        const at = new Date(options.at)
        if (Number.isNaN(at.getTime())) command.error(`--at: "${options.at}" is not a date`, { exitCode: 2 })
        policy.now = () => at
      }
      let rejected = 0
      for (const file of files) {
        let verdict: Verdict | { verdict: 'rejected', code: 'FILE_UNREADABLE', detail: string }
        try {
          verdict = await verifyDocument(await readFile(file), policy)
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code == null || !code.startsWith('E')) throw err
          verdict = { verdict: 'rejected', code: 'FILE_UNREADABLE', detail: (err as Error).message }
        }
        if (verdict.verdict === 'rejected') rejected++
        process.stdout.write((options.json === true ? JSON.stringify(toJson(file, verdict)) : toText(file, verdict)) + '\n')
      }
      process.exitCode = rejected > 0 ? 1 : 0
    })
}

type CliVerdict = Verdict | { verdict: 'rejected', code: 'FILE_UNREADABLE', detail: string }

function toJson (file: string, v: CliVerdict): object {
  if (v.verdict === 'accepted') {
    return {
      file,
      verdict: v.verdict,
      code: null,
      kind: v.envelope.kind,
      sender: v.envelope.from.organId,
      recipients: v.envelope.to.map((t) => t.organId),
      documentId: v.envelope.documentId ?? null,
      signer: v.signer,
      algorithms: v.algorithms,
      flags: v.flags,
      digestSha256: v.digestSha256
    }
  }
  const facts = 'digestSha256' in v ? v : undefined
  return {
    file,
    verdict: v.verdict,
    code: v.code,
    detail: v.detail,
    sender: facts?.claimedSender ?? null,
    recipients: facts?.envelope?.to.map((t) => t.organId) ?? [],
    signer: facts?.signer ?? null,
    algorithms: facts?.algorithms ?? null
  }
}

function toText (file: string, v: CliVerdict): string {
  if (v.verdict === 'accepted') {
    const weak = v.flags.includes('weak') ? ' [WEAK: SHA-1 allowed for this agency]' : ''
    const to = v.envelope.to.map((t) => t.organId).join(', ')
    return `${file}: ACCEPTED ${v.envelope.kind} from ${v.envelope.from.organId}${to !== '' ? ` to ${to}` : ''}, ${v.signer != null ? `signed by ${v.signer.subject}` : 'UNSIGNED (allowed by the registry)'} (${v.algorithms.signature})${weak}`
  }
  const sentence = v.code in REASON_CODES ? REASON_CODES[v.code as keyof typeof REASON_CODES].sentence : 'the file cannot be read'
  return `${file}: REJECTED ${v.code}: ${sentence} (${v.detail})`
}
