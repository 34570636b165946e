import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { isAbsolute, join, relative } from 'node:path'
import { AgencyRegistry } from '../registry/agency-registry.js'
import type { AgencyEntry } from '../registry/registry-format.js'
import { DEMO_PULL_RECIPIENT, DEMO_PUSH_RECIPIENT, DEMO_SENDER, demoRecipientTls, signAsDemoAgency } from './demo-agencies.js'
import { demoDocument } from './demo-documents.js'
import { readDemoKeys } from './demo-keys.js'
import { DemoSetupError } from './demo-setup-error.js'
import { HubClient, HubUnreachable, refusal } from './hub-client.js'
import { startPushRecipient, type PushRecipient } from './push-recipient.js'
import { receiptChecker, type ReceiptChecker } from './receipt-checker.js'
import { replyWithStatus03, type StatusSent } from './status-reply.js'

export interface DemoOptions {
  /** Base URL of the running hub, e.g. http://127.0.0.1:8080. */
  hub: string
  /** The hub's data directory, where it keeps demo-api-keys.json. */
  dataDir: string
  timeoutMs: number
  registryFile: string
  trustDir: string
  hubCertFile: string
  requireRevocation: boolean
  out?: (line: string) => void
}

/** A step of the journey went wrong; the message names it. */
class StepFailed extends Error {}

const POLL_MS = 300
const START_HINT = 'start the hub first with `npm start` (in another terminal, from the same directory)'

interface DeliveryView { id: string, recipient: string, mode: string, state: string, lastError: string | null }
interface StatusEvent { recipient: string, statusCode: string, statusDocumentId: string }
interface DocumentView { deliveries: DeliveryView[], statusEvents: StatusEvent[], receipts: Array<{ kind: string, deliveryId: string | null }> }
interface InboxItem { deliveryId: string, documentId: string, kind: string }
interface FeedItem { receiptId: string, kind: string, documentId: string, deliveryId: string | null }

/**
 * `lienthong demo`: one signed document from a demo agency through a running hub to a push and a
 * pull recipient, and status 03 back from each, with every hub receipt verified on the way. The
 * recipients are played here: an HTTPS endpoint for the push one, an inbox poller for the pull
 * one. Returns true when the whole journey happened before the timeout; prints one line per step.
 */
export async function runDemo (options: DemoOptions): Promise<boolean> {
  const out = options.out ?? ((line: string) => { process.stdout.write(line + '\n') })
  const done = (text: string): void => { out(`  ✓ ${text}`) }
  const started = Date.now()
  const hub = options.hub.replace(/\/+$/, '')
  out(`lienthong demo: a signed document through the hub at ${hub} (demo agencies and keys from certs-example/, NOT FOR PRODUCTION)`)

  await checkHubIsUp(hub)
  const { keys, file: keysFile } = await readDemoKeys(options.dataDir,
    'the hub writes them there when it starts with the demo registry: give the demo the hub\'s data directory (--data-dir, or the same LIENTHONG_DATA_DIR)')
  const registry = await AgencyRegistry.load(options.registryFile)
  const sender = demoAgency(registry, DEMO_SENDER, 'pull')
  const pushTo = demoAgency(registry, DEMO_PUSH_RECIPIENT, 'push')
  const pullTo = demoAgency(registry, DEMO_PULL_RECIPIENT, 'pull')
  const clientOf = (agency: AgencyEntry): HubClient => {
    const key = keys[agency.code]
    if (key == null) throw new DemoSetupError(`${keysFile} holds no API key for ${agency.code}: restart the hub with the demo registry (npm start)`)
    return new HubClient(hub, key)
  }
  const senderApi = clientOf(sender)
  const pushApi = clientOf(pushTo)
  const pullApi = clientOf(pullTo)
  const probe = await senderApi.get('/v1/inbox?limit=1')
  if (probe.status === 401) {
    throw new DemoSetupError(`the hub at ${hub} does not know the API keys in ${keysFile} (${refusal(probe).message}): run the demo with the hub's data directory (--data-dir, or the same LIENTHONG_DATA_DIR)`)
  }
  if (probe.status !== 200) throw new DemoSetupError(`the hub at ${hub} answered ${refusal(probe).message} to ${sender.code}'s inbox`)
  done(`hub is up at ${hub}; it accepts the demo agencies' API keys from ${shortPath(keysFile)}`)
  const receipts = await receiptChecker(options)

  // The push recipient listens before anything is sent, where the registry says the hub pushes.
  const journey = new Journey()
  const pushUrl = new URL((pushTo.delivery as { url: string }).url)
  let recipient: PushRecipient
  try {
    recipient = await startPushRecipient({
      host: pushUrl.hostname.replace(/^\[|\]$/g, ''),
      port: Number(pushUrl.port !== '' ? pushUrl.port : 443),
      path: pushUrl.pathname,
      tls: await demoRecipientTls(),
      onItem: (item) => { journey.pushed(item, pushApi, pushTo) },
      onTlsError: (message) => { journey.tlsErrors.push(message) }
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new DemoSetupError(`cannot listen on ${pushUrl.host} for ${pushTo.code}, the demo push recipient (${code ?? (err as Error).message})` +
      (code === 'EADDRINUSE' ? ': is another `lienthong demo` or `lienthong demo recipient` running?' : ''))
  }
  try {
    done(`${pushTo.code} ${pushTo.name}: receives by push at ${recipient.url} (HTTPS, hub's client certificate required)`)
    done(`${pullTo.code} ${pullTo.name}: receives by pull (polls its inbox on the hub)`)
    return await journey.run({ hub, out, done, started, timeoutMs: options.timeoutMs, dataDir: options.dataDir, keysFile, receipts, sender, pushTo, pullTo, senderApi, pullApi })
  } finally {
    await recipient.close()
  }
}

async function checkHubIsUp (hub: string): Promise<void> {
  try {
    const res = await fetch(`${hub}/health/live`, { signal: AbortSignal.timeout(10_000) })
    if (res.status !== 200) throw new DemoSetupError(`${hub}/health/live answered HTTP ${res.status}: is that a lienthong hub? ${START_HINT}`)
  } catch (err) {
    if (err instanceof DemoSetupError) throw err
    throw new DemoSetupError(`${new HubUnreachable(hub, err).message}: ${START_HINT}`)
  }
}

function demoAgency (registry: AgencyRegistry, code: string, mode: 'push' | 'pull'): AgencyEntry {
  const agency = registry.get(code)
  if (agency == null || agency.delivery.mode !== mode) {
    throw new DemoSetupError(`the demo needs ${code} in the registry, receiving by ${mode}: run the hub with the demo registry (certs-example/registry.json)`)
  }
  return agency
}

interface JourneyContext {
  hub: string
  out: (line: string) => void
  done: (text: string) => void
  started: number
  timeoutMs: number
  dataDir: string
  keysFile: string
  receipts: ReceiptChecker
  sender: AgencyEntry
  pushTo: AgencyEntry
  pullTo: AgencyEntry
  senderApi: HubClient
  pullApi: HubClient
}

/** What has happened so far, filled in by the push endpoint and the pollers. */
class Journey {
  readonly tlsErrors: string[] = []
  private sentSha256 = ''
  private pushArrived = false
  private pushStatus: Promise<StatusSent> | undefined

  /** The hub pushed something to the push recipient; only the demo's own document is answered with a status. */
  pushed (item: { sha256: string, bytes: Buffer, repeat: boolean }, api: HubClient, agency: AgencyEntry): void {
    if (this.sentSha256 === '' || item.sha256 !== this.sentSha256 || item.repeat || this.pushArrived) return
    this.pushArrived = true
    this.pushStatus = replyWithStatus03(api, agency, item.bytes)
    // Awaited (and its failure reported as a failed step) in run(); this only keeps it from being unhandled until then.
    this.pushStatus.catch(() => {})
  }

  async run (c: JourneyContext): Promise<boolean> {
    const { done } = c
    const evidence = new Map<string, string>()
    const deadline = c.started + c.timeoutMs
    const milestones = new Map<string, boolean>()
    const steps = {
      accepted: 'accepted by the hub',
      push: `delivered to ${c.pushTo.code} by push`,
      pull: `delivered to ${c.pullTo.code} by pull`,
      pushStatus: `status 03 from ${c.pushTo.code} back at ${c.sender.code}`,
      pullStatus: `status 03 from ${c.pullTo.code} back at ${c.sender.code}`
    }
    let view: DocumentView | undefined
    let id: string | undefined

    try {
      // 1. The sender signs and submits.
      const document = demoDocument(c.sender, [c.pushTo, c.pullTo])
      const signed = await signAsDemoAgency(c.sender.code, document.xml)
      this.sentSha256 = createHash('sha256').update(signed).digest('hex')
      done(`${c.sender.code} ${c.sender.name}: signed document ${document.documentId} for ${c.pushTo.code} and ${c.pullTo.code}`)
      const answer = await c.senderApi.post('/v1/documents', signed)
      if (answer.status === 200) throw new StepFailed(`${steps.accepted}: the hub already had a document ${document.documentId} from ${c.sender.code}; run the demo again`)
      if (answer.status !== 202) throw new StepFailed(`${steps.accepted}: ${refusal(answer).message}`)
      const accepted = answer.json<{ id: string, receipt: string, recipients: Array<{ code: string, deliveryId?: string, mode?: string }> }>()
      id = accepted.id
      await c.receipts.check(accepted.receipt, { kind: 'acceptance', hubDocumentId: id, sender: c.sender.code, digestSha256: this.sentSha256 })
      evidence.set('acceptance', accepted.receipt)
      const deliveryTo = (code: string): string => {
        const delivery = accepted.recipients.find((r) => r.code === code)?.deliveryId
        if (delivery == null) throw new StepFailed(`${steps.accepted}: the hub made no delivery to ${code}`)
        return delivery
      }
      const pushDelivery = deliveryTo(c.pushTo.code)
      const pullDelivery = deliveryTo(c.pullTo.code)
      milestones.set('accepted', true)
      done(`${steps.accepted}: document ${id}; acceptance receipt verified`)

      // 2. Until every milestone happened: the pull recipient polls its inbox, the sender its
      // document's journey, receipts and inbox (the status messages come back there).
      const statusSent = new Map<string, StatusSent>()
      const statusRead = new Set<string>()
      let pullDownloaded = false
      const verified = new Set<string>()
      while (Date.now() < deadline) {
        if (!pullDownloaded) {
          const item = (await inbox(c.pullApi)).find((i) => i.documentId === id)
          if (item != null) {
            const bytes = (await c.pullApi.expect('GET', `/v1/inbox/${item.deliveryId}`)).body
            if (createHash('sha256').update(bytes).digest('hex') !== this.sentSha256) throw new StepFailed(`${steps.pull}: the downloaded bytes are not the ones ${c.sender.code} signed`)
            await c.pullApi.expect('POST', `/v1/inbox/${item.deliveryId}/ack`, { result: 'done' })
            pullDownloaded = true
            const sent = await replyWithStatus03(c.pullApi, c.pullTo, bytes).catch((err: Error) => { throw new StepFailed(`${c.pullTo.code}'s status 03 was not accepted: ${err.message}`) })
            await c.receipts.check(sent.receipt, { kind: 'acceptance', hubDocumentId: sent.id, sender: c.pullTo.code })
            evidence.set(`status-${c.pullTo.code}-acceptance`, sent.receipt)
            statusSent.set(c.pullTo.code, sent)
          }
        }
        if (this.pushStatus != null && !statusSent.has(c.pushTo.code)) {
          const sent = await this.pushStatus.catch((err: Error) => { throw new StepFailed(`${c.pushTo.code}'s status 03 was not accepted: ${err.message}`) })
          await c.receipts.check(sent.receipt, { kind: 'acceptance', hubDocumentId: sent.id, sender: c.pushTo.code })
          evidence.set(`status-${c.pushTo.code}-acceptance`, sent.receipt)
          statusSent.set(c.pushTo.code, sent)
        }

        view = (await c.senderApi.expect('GET', `/v1/documents/${id}`)).json<DocumentView>()
        const failed = view.deliveries.find((d) => d.state === 'failed' || d.state === 'cancelled')
        if (failed != null) throw new StepFailed(`delivery to ${failed.recipient} ${failed.state}: ${failed.lastError ?? 'no reason given'}`)
        const newReceipts = view.receipts.filter((r) => r.kind === 'delivery' && r.deliveryId != null && !verified.has(r.deliveryId))
        if (newReceipts.length > 0) {
          for (const item of (await receiptFeed(c.senderApi)).filter((r) => r.documentId === id && r.kind === 'delivery' && r.deliveryId != null && !verified.has(r.deliveryId))) {
            const xml = (await c.senderApi.expect('GET', `/v1/receipts/${item.receiptId}`)).body.toString('utf8')
            const to = item.deliveryId === pushDelivery ? c.pushTo.code : c.pullTo.code
            await c.receipts.check(xml, { kind: 'delivery', hubDocumentId: id, deliveryId: item.deliveryId as string, recipient: to, method: to === c.pushTo.code ? 'push' : 'pull', digestSha256: this.sentSha256 })
            evidence.set(`delivery-${to}`, xml)
            verified.add(item.deliveryId as string)
          }
        }
        const waiting = view.statusEvents.filter((e) => !statusRead.has(e.statusDocumentId))
        if (waiting.length > 0) {
          const items = await inbox(c.senderApi)
          for (const event of waiting) {
            const item = items.find((i) => i.documentId === event.statusDocumentId)
            if (item == null) continue
            await c.senderApi.expect('GET', `/v1/inbox/${item.deliveryId}`)
            await c.senderApi.expect('POST', `/v1/inbox/${item.deliveryId}/ack`, { result: 'done' })
            statusRead.add(event.statusDocumentId)
          }
        }

        const statusBack = (from: string): boolean => view?.statusEvents.some((e) => e.recipient === from && e.statusCode === '03' && statusRead.has(e.statusDocumentId)) === true
        const reached: Record<string, boolean> = {
          push: this.pushArrived && verified.has(pushDelivery),
          pull: pullDownloaded && verified.has(pullDelivery),
          pushStatus: statusBack(c.pushTo.code) && statusSent.has(c.pushTo.code),
          pullStatus: statusBack(c.pullTo.code) && statusSent.has(c.pullTo.code)
        }
        const lines: Record<string, string> = {
          push: `${steps.push} (HTTPS POST with the hub's client certificate, answered 200); delivery receipt verified`,
          pull: `${steps.pull} (downloaded from its inbox, bytes unchanged, acknowledged); delivery receipt verified`,
          pushStatus: `${steps.pushStatus} (Đã tiếp nhận: registered; signed by ${c.pushTo.code}, read from ${c.sender.code}'s inbox)`,
          pullStatus: `${steps.pullStatus} (Đã tiếp nhận: registered; signed by ${c.pullTo.code}, read from ${c.sender.code}'s inbox)`
        }
        for (const [step, ok] of Object.entries(reached)) {
          if (ok && milestones.get(step) !== true) {
            milestones.set(step, true)
            done(lines[step] as string)
          }
        }
        if (Object.values(reached).every(Boolean)) {
          await this.finish(c, id, document.documentId, evidence)
          return true
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
      const missing = (Object.keys(steps) as Array<keyof typeof steps>).find((s) => milestones.get(s) !== true) as keyof typeof steps
      this.explain(c, `${steps[missing]} did not happen within ${Math.round(c.timeoutMs / 1000)} s`, id, view)
      return false
    } catch (err) {
      // Whatever stopped the journey (a refused step, a receipt that does not verify, the hub
      // gone) is one line for the operator, never a stack trace.
      this.explain(c, err instanceof HubUnreachable ? `lost contact with the hub: ${err.message}` : (err as Error).message, id, view)
      return false
    }
  }

  private explain (c: JourneyContext, what: string, id: string | undefined, view: DocumentView | undefined): void {
    c.out(`  ✗ ${what}`)
    for (const d of view?.deliveries ?? []) c.out(`      delivery to ${d.recipient} (${d.mode}): ${d.state}${d.lastError != null ? ` - ${d.lastError}` : ''}`)
    if (view?.deliveries.some((d) => d.mode === 'push' && d.state === 'queued') === true) {
      c.out('      a push still queued: is a delivery worker running? (`npm start` runs one, `lienthong serve` does not; Redis must be up)')
    }
    if (this.tlsErrors.length > 0) c.out(`      TLS connections refused by ${c.pushTo.code}'s endpoint: ${[...new Set(this.tlsErrors)].join('; ')}`)
    c.out(`  more in the hub's log (the terminal running npm start)${id != null ? ` and at ${c.hub}/v1/documents/${id}` : ''}`)
  }

  private async finish (c: JourneyContext, id: string, documentId: string, evidence: Map<string, string>): Promise<void> {
    const dir = join(c.dataDir, 'demo-receipts', id)
    await mkdir(dir, { recursive: true })
    for (const [name, xml] of evidence) await writeFile(join(dir, `${name}.xml`), xml)
    c.done(`all ${evidence.size} receipts verified: signed by the hub (certificate SHA-256 ${c.receipts.hubFingerprint.slice(0, 23)}...), ` +
      `chained to the trusted root, revocation checked; saved in ${shortPath(dir)}`)
    const seconds = ((Date.now() - c.started) / 1000).toFixed(1)
    const rows: Array<[string, string]> = [
      ['the document and its journey', `${c.hub}/v1/documents/${id}`],
      ['its signed bytes', `${c.hub}/v1/documents/${id}/raw`],
      ['its acceptance receipt', `${c.hub}/v1/documents/${id}/receipts/acceptance`],
      [`${c.sender.code}'s receipts feed`, `${c.hub}/v1/receipts`],
      ['the API reference (OpenAPI)', `${c.hub}/openapi.json`]
    ]
    const width = Math.max(...rows.map(([label]) => label.length)) + 2
    c.out('')
    c.out(`Document ${documentId} was delivered both ways in ${seconds} s. Where to look (as ${c.sender.code}, with its API key):`)
    for (const [label, url] of rows) c.out(`  ${label.padEnd(width)}${url}`)
    c.out(`  for example: curl -s ${c.hub}/v1/documents/${id} -H "authorization: Bearer $(node -p "require('${shortPath(c.keysFile)}')['${c.sender.code}']")"`)
    c.out(`  check the saved receipts offline: npx lienthong receipt verify ${join(shortPath(dir), '*.xml')}`)
  }
}

/** A path as the operator would type it from here: ./relative inside the working directory, else absolute. */
function shortPath (path: string): string {
  const rel = relative(process.cwd(), path)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? `./${rel}` : path
}

/** Every item of an agency's inbox (all pages). */
async function inbox (api: HubClient): Promise<InboxItem[]> {
  return await allPages<InboxItem>(api, '/v1/inbox')
}

/** Every receipt in the sender's receipts feed (all pages). */
async function receiptFeed (api: HubClient): Promise<FeedItem[]> {
  return await allPages<FeedItem>(api, '/v1/receipts')
}

async function allPages<T> (api: HubClient, path: string): Promise<T[]> {
  const items: T[] = []
  let after: string | null = null
  for (let page = 0; page < 100; page++) {
    const query: string = `?limit=500${after != null ? `&after=${encodeURIComponent(after)}` : ''}`
    const body = (await api.expect('GET', path + query)).json<{ items: T[], next: string | null }>()
    items.push(...body.items)
    after = body.next
    if (after == null) break
  }
  return items
}
