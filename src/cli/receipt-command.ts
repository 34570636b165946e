import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { readPemBlocks } from '../pki/pem.js'
import { TrustStore } from '../pki/trust-store.js'
import { RECEIPT_LAYOUT, type Receipt } from '../evidence/receipts/format.js'
import { normalizeFingerprint, type HubPin } from '../evidence/receipts/hub-pin.js'
import { RECEIPT_FAILURE_SENTENCES, verifyReceipt, type ReceiptVerification } from '../evidence/receipts/verify.js'
import { REASON_CODES } from '../domain/reason-codes.js'
import { DEMO_TRUST_DIR, PACKAGE_ROOT } from '../paths.js'
import { envText } from '../config/env-schema.js'

/** The demo hub certificate (never for production), the default hub when none is named. */
export const DEMO_HUB_CERT = join(PACKAGE_ROOT, 'certs-example', 'hub', 'signing-cert.pem')

interface ReceiptVerifyOptions {
  trust: string
  hubCert: string[]
  hubFingerprint: string[]
  hubUid?: string
  at?: string
  revocation: 'require' | 'best-effort'
  json?: boolean
}

type Outcome = ReceiptVerification | { ok: false, code: 'FILE_UNREADABLE', detail: string }

export function receiptCommand (): Command {
  const receipt = new Command('receipt').description('hub-signed receipts (acceptance, delivery, failure, rejection)')
  receipt.command('verify')
    .description('verify hub-signed receipt files offline: trust store path, signer pinned to the hub, XML-DSig; prints the fields')
    .argument('<file...>', 'receipt XML files')
    .option('--trust <dir>', 'trust store directory (PEM anchors, intermediates, CRLs)', envText('LIENTHONG_TRUST_DIR') ?? DEMO_TRUST_DIR)
    .addOption(new Option('--hub-cert <file>', 'a hub certificate (PEM; the first certificate of the file) whose fingerprint is accepted; repeatable')
      .argParser(collect).default([], 'LIENTHONG_HUB_CERT or the demo hub certificate, when no --hub-* option is given'))
    .addOption(new Option('--hub-fingerprint <hex>', 'an accepted hub certificate SHA-256 fingerprint (hex, colons allowed); repeatable')
      .argParser(collect).default([], 'none'))
    .option('--hub-uid <uid>', 'accept a signer whose certificate subject UID is this (e.g. 000.00.00.HUB); combined with the above, both must hold')
    .option('--at <iso-time>', 'verify as of this time instead of now')
    .addOption(new Option('--revocation <mode>', 'fail closed without fresh CRLs (require), or only check what is there').choices(['require', 'best-effort']).default('require'))
    .option('--json', 'one JSON object per file on stdout')
    .action(async (files: string[], options: ReceiptVerifyOptions, command: Command) => {
      let now: Date | undefined
      if (options.at != null) {
        now = new Date(options.at)
        if (Number.isNaN(now.getTime())) command.error(`--at: "${options.at}" is not a date`)
      }
      const hub = await hubPin(options)
      const trustStore = await TrustStore.load(options.trust)
      let failed = 0
      for (const file of files) {
        let outcome: Outcome
        try {
          const bytes = await readFile(file)
          outcome = await verifyReceipt(bytes, trustStore, { hub, requireRevocation: options.revocation === 'require', ...(now != null ? { now } : {}) })
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code == null || !code.startsWith('E')) throw err
          outcome = { ok: false, code: 'FILE_UNREADABLE', detail: (err as Error).message }
        }
        if (!outcome.ok) failed++
        process.stdout.write((options.json === true ? JSON.stringify(toJson(file, outcome)) : toText(file, outcome)) + '\n')
      }
      process.exitCode = failed > 0 ? 1 : 0
    })
  return receipt
}

function collect (value: string, previous: string[]): string[] {
  return [...previous, value]
}

async function hubPin (options: ReceiptVerifyOptions): Promise<HubPin> {
  const certFiles = options.hubCert.length === 0 && options.hubFingerprint.length === 0 && options.hubUid == null
    ? [envText('LIENTHONG_HUB_CERT') ?? DEMO_HUB_CERT]
    : options.hubCert
  const fingerprints = options.hubFingerprint.map(normalizeFingerprint)
  for (const file of certFiles) fingerprints.push(await certificateFingerprint(file))
  return { ...(fingerprints.length > 0 ? { fingerprintsSha256: fingerprints } : {}), ...(options.hubUid != null ? { subjectUid: options.hubUid } : {}) }
}

async function certificateFingerprint (file: string): Promise<string> {
  const block = readPemBlocks(await readFile(file, 'latin1')).find((b) => b.label === 'CERTIFICATE')
  if (block == null) throw new Error(`--hub-cert ${file}: no CERTIFICATE block found`)
  return normalizeFingerprint(new X509Certificate(block.der).fingerprint256)
}

function toJson (file: string, outcome: Outcome): object {
  if (outcome.ok) return { file, ok: true, kind: outcome.fields.kind, fields: outcome.fields, signer: outcome.signer }
  return { file, ok: false, code: outcome.code, detail: outcome.detail }
}

function toText (file: string, outcome: Outcome): string {
  if (!outcome.ok) {
    const sentence = sentenceOf(outcome.code)
    return `${file}: INVALID ${outcome.code}: ${sentence} (${printable(outcome.detail)})`
  }
  const { fields, signer } = outcome
  const lines = [`${file}: VALID ${fields.kind} receipt, signed by ${signer.subject} (SHA-256 ${signer.fingerprintSha256})`]
  const values = fields as unknown as Record<string, unknown>
  for (const spec of RECEIPT_LAYOUT[fields.kind as Receipt['kind']]) {
    const value = values[spec.key]
    if (value === undefined) continue
    lines.push(`  ${spec.key.padEnd(18)} ${Array.isArray(value) ? value.join(', ') : printable(String(value))}`)
  }
  return lines.join('\n')
}

function sentenceOf (code: string): string {
  if (Object.hasOwn(REASON_CODES, code)) return REASON_CODES[code as keyof typeof REASON_CODES].sentence
  if (Object.hasOwn(RECEIPT_FAILURE_SENTENCES, code)) return RECEIPT_FAILURE_SENTENCES[code as keyof typeof RECEIPT_FAILURE_SENTENCES]
  return 'the file cannot be read'
}

/**
 * Free text in a receipt (a rejection detail, a claimed sender) may come from a refused document:
 * controls and bidirectional overrides are shown escaped, so they cannot rewrite the terminal line.
 */
function printable (text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(text) ? JSON.stringify(text) : text
}
