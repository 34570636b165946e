import { Command } from 'commander'
import { join, resolve } from 'node:path'
import { REGISTRY_PATH, TRUST_DIR, generateExamplePkiFiles, issueExampleHub } from '../pki/example-pki.js'

export function pkiCommand (): Command {
  const pki = new Command('pki').description('example PKI (not for production)')

  pki.command('init')
    .description('generate an example PKI (CAs, CRLs, demo agency certificates, broken certificates for tests, registry.json); ' +
      'its private keys are public: NEVER use it in production')
    .argument('<dir>', 'directory to write into (created if missing; must be empty unless --force)')
    .option('--force', 'write into a non-empty directory, overwriting files of the same name', false)
    .action(async (dir: string, opts: { force: boolean }) => {
      const target = resolve(dir)
      // A non-empty target throws DirectoryNotEmptyError; main.ts reports it in one line.
      const files = await generateExamplePkiFiles(target, { force: opts.force })
      const keys = files.filter((f) => f.secret).length
      const groups = [...new Set(files.map((f) => f.path.split('/')[0] ?? f.path))]
      console.log(`Example PKI written to ${target} (NOT FOR PRODUCTION: the private keys are not secret)`)
      console.log(`  ${files.length} files (${keys} private keys): ${groups.join(', ')}`)
      console.log(`  trust dir: ${join(target, TRUST_DIR)}`)
      console.log(`  registry:  ${join(target, REGISTRY_PATH)}`)
      console.log(`  details:   ${join(target, 'README.md')}`)
    })

  pki.command('issue-hub')
    .description('issue one more hub identity (signing and TLS certificate) into an example PKI made by `pki init`, ' +
      'with the CA key it keeps in ca/; for tests that run several hubs. NEVER use it in production')
    .argument('<dir>', 'the example PKI directory (e.g. certs-example)')
    .requiredOption('--id <id>', 'the hub id (LIENTHONG_HUB_ID), e.g. hub-4: files go to hubs/<id>/, subject UID 000.00.00.<ID without dashes>')
    .option('--force', 'overwrite the hub\'s directory if it already holds files', false)
    .action(async (dir: string, opts: { id: string, force: boolean }) => {
      const target = resolve(dir)
      const { hub, files } = await issueExampleHub(target, opts.id, { force: opts.force })
      console.log(`Hub ${hub.id} issued into ${join(target, hub.dir)} (NOT FOR PRODUCTION), signing certificate UID=${hub.uid}`)
      for (const file of files) console.log(`  ${file.path}`)
    })

  return pki
}
