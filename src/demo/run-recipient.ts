import { AgencyRegistry } from '../registry/agency-registry.js'
import { demoRecipientTls } from './demo-agencies.js'
import { answeredDocumentOf } from './demo-documents.js'
import { readDemoKeys } from './demo-keys.js'
import { DemoSetupError } from './demo-setup-error.js'
import { HubClient } from './hub-client.js'
import { startPushRecipient, type PushRecipient } from './push-recipient.js'
import { replyWithStatus03 } from './status-reply.js'

export interface RecipientOptions {
  agency: string
  host: string
  /** Default: the port of the agency's push URL in the registry. */
  port?: number
  /** Default: the path of the agency's push URL in the registry, else /edxml. */
  path?: string
  registryFile: string
  /** Answer each received document with a signed status 03 through the hub. */
  status03: boolean
  hub: string
  /** The agency's API key (for status 03); default: from <dataDir>/demo-api-keys.json. */
  apiKey?: string
  dataDir: string
  /** Server certificate (+ chain) and key, and the CAs client certificates must chain to; default: the demo PKI's. */
  tlsCert?: string
  tlsKey?: string
  clientCa?: string
  out?: (line: string) => void
}

/**
 * `lienthong demo recipient`: one demo agency's push endpoint on its own (e.g. a container beside
 * the hub). Answers 200 to every document the hub pushes, prints one line per document, and with
 * --status-03 answers each one with a signed status 03 through the hub.
 */
export async function runRecipient (options: RecipientOptions): Promise<PushRecipient> {
  const out = options.out ?? ((line: string) => { process.stdout.write(line + '\n') })
  const registry = await AgencyRegistry.load(options.registryFile)
  const agency = registry.get(options.agency)
  if (agency == null) throw new DemoSetupError(`agency ${options.agency} is not in the registry ${options.registryFile}`)
  const registered = agency.delivery.mode === 'push' ? new URL(agency.delivery.url) : undefined
  const port = options.port ?? (registered != null ? Number(registered.port !== '' ? registered.port : 443) : undefined)
  if (port == null) throw new DemoSetupError(`${agency.code} receives by pull in the registry: give the port to listen on with --port`)
  const path = options.path ?? registered?.pathname ?? '/edxml'

  let api: HubClient | undefined
  if (options.status03) {
    const key = options.apiKey ?? (await readDemoKeys(options.dataDir, 'give the API key with --key, or start the hub first with `npm start`')).keys[agency.code]
    if (key == null) throw new DemoSetupError(`no API key for ${agency.code}: give it with --key`)
    api = new HubClient(options.hub.replace(/\/+$/, ''), key)
  }

  const tls = await demoRecipientTls({
    ...(options.tlsCert != null ? { cert: options.tlsCert } : {}),
    ...(options.tlsKey != null ? { key: options.tlsKey } : {}),
    ...(options.clientCa != null ? { clientCa: options.clientCa } : {})
  })
  let recipient: PushRecipient
  try {
    recipient = await startPushRecipient({
      host: options.host,
      port,
      path,
      tls,
      onItem: (item) => {
        const answered = item.kind === 'status' ? undefined : answeredDocumentOf(item.bytes)
        const what = item.kind === 'status'
          ? `status message from ${item.sender}`
          : `document ${answered?.documentId ?? '(no DocumentId)'} from ${answered?.sender ?? item.sender}`
        out(`received ${what} (delivery ${item.deliveryId}, ${item.bytes.length} bytes${item.repeat ? ', again' : ''}); answered 200`)
        if (api == null || item.kind === 'status' || item.repeat || answered == null) return
        replyWithStatus03(api, agency, item.bytes).then(
          (sent) => { out(`  status 03 for ${answered.documentId} accepted by the hub as ${sent.id}`) },
          (err: Error) => { out(`  status 03 for ${answered.documentId} not accepted: ${err.message}`) }
        )
      },
      onTlsError: (message) => { out(`refused a TLS connection: ${message}`) }
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new DemoSetupError(`cannot listen on ${options.host}:${port} (${code ?? (err as Error).message})`)
  }
  out(`lienthong demo recipient: ${agency.code} ${agency.name} receives pushed documents at ${recipient.url}` +
    ` (mutual TLS${api != null ? `; answers each with status 03 through ${api.base}` : ''}); Ctrl-C stops it`)
  return recipient
}
