import { Command, InvalidArgumentError, Option } from 'commander'

interface DemoCliOptions {
  hub?: string
  dataDir?: string
  timeout: number
}

interface RecipientCliOptions {
  agency: string
  host: string
  port?: number
  path?: string
  status03?: boolean
  hub?: string
  key?: string
  dataDir?: string
  tlsCert?: string
  tlsKey?: string
  clientCa?: string
}

const positiveInt = (what: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`)
  return n
}

/**
 * The hub URL and data directory the demo talks to: by default those `npm start` uses with the
 * same environment (LIENTHONG_PORT, LIENTHONG_DATA_DIR), so the two terminals agree.
 */
async function hubDefaults (): Promise<{ hub: string, dataDir: string, registryFile: string, trustDir: string, hubCertFile: string, requireRevocation: boolean }> {
  const { loadConfig } = await import('../config/config.js')
  const config = loadConfig()
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host
  const hub = `${config.tls != null ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${config.port}`
  return { hub, dataDir: config.dataDir, registryFile: config.registryFile, trustDir: config.trustDir, hubCertFile: config.hubCertFile, requireRevocation: config.requireRevocation }
}

export function demoCommand (): Command {
  const demo = new Command('demo')
    .description('send a signed document from a demo agency through the running hub (npm start) to a push and a pull demo recipient, ' +
      'with status 03 back and every receipt verified')
    // --hub and --data-dir also serve `demo recipient` (commander hands them to this command
    // wherever they are written; the sub-command reads them with optsWithGlobals).
    .option('--hub <url>', 'the running hub (default: http://127.0.0.1:$LIENTHONG_PORT, 8080)')
    .option('--data-dir <dir>', 'the hub\'s data directory, holding demo-api-keys.json (default: $LIENTHONG_DATA_DIR, ./data)')
    .addOption(new Option('--timeout <seconds>', 'give up when the journey is not complete after this long').argParser(positiveInt('--timeout')).default(60))
    .action(async (options: DemoCliOptions) => {
      const defaults = await hubDefaults()
      const { runDemo } = await import('../demo/run-demo.js')
      const completed = await runDemo({
        ...defaults,
        hub: options.hub ?? defaults.hub,
        dataDir: options.dataDir ?? defaults.dataDir,
        timeoutMs: options.timeout * 1000
      })
      process.exitCode = completed ? 0 : 1
    })

  demo.command('recipient')
    .description('run one demo agency\'s push endpoint (HTTPS, mutual TLS) on its own; answers 200 and logs each document the hub pushes')
    .requiredOption('--agency <code>', 'the demo agency, e.g. 000.00.00.G22')
    .addOption(new Option('--port <n>', 'port to listen on (default: the one in the agency\'s push URL in the registry)').argParser(positiveInt('--port')))
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--path <path>', 'URL path documents are POSTed to (default: the one in the registry, else /edxml)')
    .option('--status-03', 'answer each document with a signed status 03 through the hub')
    .option('--key <api-key>', 'the agency\'s API key, for --status-03 (default: from demo-api-keys.json in --data-dir)')
    .option('--tls-cert <file>', 'server certificate followed by its chain, PEM (default: the demo PKI\'s, for 127.0.0.1 and localhost)')
    .option('--tls-key <file>', 'server private key, PEM (default: the demo PKI\'s)')
    .option('--client-ca <file>', 'CA certificates the hub\'s client certificate must chain to, PEM (default: the demo PKI\'s)')
    .configureHelp({ showGlobalOptions: true })
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<RecipientCliOptions>()
      const defaults = await hubDefaults()
      const { runRecipient } = await import('../demo/run-recipient.js')
      const recipient = await runRecipient({
        agency: options.agency,
        host: options.host,
        registryFile: defaults.registryFile,
        status03: options.status03 === true,
        hub: options.hub ?? defaults.hub,
        dataDir: options.dataDir ?? defaults.dataDir,
        ...(options.port != null ? { port: options.port } : {}),
        ...(options.path != null ? { path: options.path } : {}),
        ...(options.key != null ? { apiKey: options.key } : {}),
        ...(options.tlsCert != null ? { tlsCert: options.tlsCert } : {}),
        ...(options.tlsKey != null ? { tlsKey: options.tlsKey } : {}),
        ...(options.clientCa != null ? { clientCa: options.clientCa } : {})
      })
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'))
        process.once('SIGTERM', () => resolve('SIGTERM'))
      })
      process.stdout.write(`lienthong demo recipient: ${signal}, stopping\n`)
      await recipient.close()
    })
  return demo
}
