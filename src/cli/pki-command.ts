import { Command } from 'commander'

export function pkiCommand (): Command {
  return new Command('pki').description('example PKI (not for production)')
}
