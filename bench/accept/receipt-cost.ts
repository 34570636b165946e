/**
 * CPU cost of one acceptance receipt, by step: `node --import tsx bench/accept/receipt-cost.ts [N]`.
 * Signs N receipts with the demo hub identity on this thread (as a receipt-signing worker does)
 * and prints CPU microseconds per receipt for the whole issueReceipt and for its parts measured
 * alone (building the XML, one parse, the RSA signature).
 */
import { sign } from 'node:crypto'
import { join } from 'node:path'
import { loadHubIdentity } from '../../src/evidence/hub-identity.js'
import { buildReceipt, issueReceipt, type ReceiptFields } from '../../src/evidence/receipts.js'
import { parseXml } from '../../src/xmldsig/parse.js'
import { ROOT } from '../../test/helpers/example-pki.js'

const n = Number(process.argv[2] ?? 2000)
const hub = await loadHubIdentity({
  keyFile: join(ROOT, 'certs-example', 'hub', 'signing-key.pem'),
  certFile: join(ROOT, 'certs-example', 'hub', 'signing-cert.pem'),
  chainFile: join(ROOT, 'certs-example', 'trust', 'issuing-ca.pem')
})
const fields = (i: number): ReceiptFields => ({
  kind: 'acceptance',
  issuedAt: new Date(),
  hubDocumentId: '3f1c2a9e-0d4b-4e8f-9a57-2b6c1d0e9f8a',
  edxmlDocumentId: `000.00.00.G22,2026/11/20,${i}/VPCP-KSTT`,
  digestSha256: 'a'.repeat(64),
  sender: '000.00.00.G22',
  recipients: ['000.00.00.G12'],
  signatureLogEntry: i + 1,
  signatureLogEntryHash: 'b'.repeat(64)
})

function cpuMicros (label: string, fn: (i: number) => unknown): void {
  for (let i = 0; i < 200; i++) fn(i)
  const before = process.cpuUsage()
  for (let i = 0; i < n; i++) fn(i)
  const used = process.cpuUsage(before)
  console.log(`${label.padEnd(34)} ${((used.user + used.system) / n).toFixed(0).padStart(6)} µs CPU`)
}

const unsigned = buildReceipt(fields(1))
const signed = issueReceipt(fields(1), hub)
cpuMicros('issueReceipt (whole)', (i) => issueReceipt(fields(i), hub))
cpuMicros('buildReceipt', (i) => buildReceipt(fields(i)))
cpuMicros('parseXml of the unsigned receipt', () => parseXml(unsigned))
cpuMicros('parseXml of the signed receipt', () => parseXml(signed))
cpuMicros('RSA-SHA256 signature (KeyObject)', () => sign('sha256', Buffer.from(unsigned), hub.privateKey))
