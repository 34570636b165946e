import { Command } from 'commander'
import { join, resolve } from 'node:path'
import { REGISTRY_PATH, TRUST_DIR, generateExamplePkiFiles } from '../pki/example-pki.js'

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

  return pki
}
