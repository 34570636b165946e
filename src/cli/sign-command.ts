import { readFile, writeFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { CANONICALIZATIONS, SIGNATURE_ALGORITHMS, signEdxml, type Canonicalization, type SigningAlgorithm } from '../signing/sign-document.js'

interface SignCliOptions {
  key: string
  cert: string
  chain?: string
  alg: SigningAlgorithm
  c14n: Canonicalization
  referenceById?: boolean
}

export function signCommand (): Command {
  return new Command('sign')
    .description('sign an edXML file (enveloped XML-DSig inside edXMLHeader, Reference URI="", certificates in KeyInfo)')
    .argument('<in>', 'unsigned edXML file')
    .argument('<out>', 'where to write the signed file')
    .requiredOption('--key <key.pem>', 'signer private key (PEM)')
    .requiredOption('--cert <cert.pem>', 'signer certificate (PEM)')
    .option('--chain <chain.pem>', 'intermediate CA certificates to include in KeyInfo')
    .addOption(new Option('--alg <alg>', 'signature algorithm').choices(Object.keys(SIGNATURE_ALGORITHMS)).default('rsa-sha256'))
    .addOption(new Option('--c14n <c14n>', 'canonicalization: exclusive or inclusive C14N 1.0').choices(Object.keys(CANONICALIZATIONS)).default('exc'))
    .option('--reference-by-id', 'reference the root element by its Id attribute (URI="#id") instead of URI=""')
    .action(async (input: string, output: string, options: SignCliOptions) => {
      const certificatePem = (await readFile(options.cert, 'utf8')) + (options.chain != null ? await readFile(options.chain, 'utf8') : '')
      const signed = signEdxml(await readFile(input, 'utf8'), {
        privateKeyPem: await readFile(options.key, 'utf8'),
        certificatePem,
        algorithm: options.alg,
        canonicalization: options.c14n,
        referenceById: options.referenceById === true
      })
      await writeFile(output, signed)
      process.stderr.write(`signed ${input} -> ${output} (${options.alg}, ${options.c14n})\n`)
    })
}
