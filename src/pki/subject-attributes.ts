/** Subject attribute names usable in registry subject rules, and their OIDs. */
const OIDS: Record<string, string> = {
  CN: '2.5.4.3',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  serialNumber: '2.5.4.5',
  UID: '0.9.2342.19200300.100.1.1',
  emailAddress: '1.2.840.113549.1.9.1'
}

export function subjectAttributeOid (name: string): string | undefined {
  if (/^\d+(\.\d+)+$/.test(name)) return name
  return OIDS[name]
}
