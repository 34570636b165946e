import { BlockList, isIP } from 'node:net'

/** Parses `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32` entries; throws naming the first bad one. */
export function checkAllowListEntry (entry: string): void {
  const [address, bits, extra] = entry.split('/')
  const family = isIP(address ?? '')
  const max = family === 4 ? 32 : 128
  if (family === 0 || extra != null || (bits != null && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max))) {
    throw new Error(`"${entry}" is not an IP address or CIDR range`)
  }
}

/** Whether `ip` is allowed by the list (an empty list allows every address). */
export function ipAllowed (list: readonly string[], ip: string): boolean {
  if (list.length === 0) return true
  const blocks = new BlockList()
  for (const entry of list) {
    const [address, bits] = entry.split('/') as [string, string | undefined]
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (bits == null) blocks.addAddress(address, type)
    else blocks.addSubnet(address, Number(bits), type)
  }
  // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
  const plain = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
  const family = isIP(plain)
  if (family === 0) return false
  return blocks.check(plain, family === 6 ? 'ipv6' : 'ipv4')
}
