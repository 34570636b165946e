import { isIP } from 'node:net'
import { HubProblem } from '../errors/problem.js'

/**
 * Where a push endpoint set over the web (admin API) may point: the SSRF policy of
 * docs/agency-registry.md, "Push endpoints set over the web".
 *
 * Refused: user-info in the URL (a password would be stored, shown on the admin pages and copied
 * into the audit trail), port 0, and hosts that are this machine or its cloud metadata service:
 * `localhost`, loopback (127/8, ::1), unspecified (0.0.0.0/8, ::), link-local (169.254/16,
 * fe80::/10, which holds 169.254.169.254) and their IPv4-mapped IPv6 forms. The WHATWG URL
 * parser has already turned 0x7f000001, 2130706433 or 127.1 into 127.0.0.1.
 *
 * Allowed: private networks (10/8, 172.16/12, 192.168/16), where agencies' document systems
 * usually live. Names are not resolved here (a name can change what it resolves to): what
 * bounds a name that leads inside is that the hub sends nothing but a TLS ClientHello before the
 * server proves the registered pin and a trusted CA's certificate for that name
 * (src/registry/push-endpoint.ts). The operator's CLI and the registry file are not limited
 * (local test recipients; the operator already has the host).
 */
export function webPushUrlProblem (text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined // The registry's own check answers for a URL that does not parse.
  }
  if (url.username !== '' || url.password !== '') return 'a push URL must not carry a user name or password (they would be stored and shown in clear)'
  if (url.port === '0') return 'a push URL must not name port 0'
  // Brackets of an IPv6 literal off; a final dot off too (`localhost.` is the same name).
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost')) return `a push URL set over the web must not point at this machine (${host})`
  if (internalAddress(host)) return `a push URL set over the web must not point at a loopback, unspecified or link-local address (${host}: this machine or its cloud metadata service)`
  return undefined
}

function internalAddress (host: string): boolean {
  const kind = isIP(host)
  if (kind === 4) return internalV4(host)
  if (kind !== 6) return false
  if (host === '::1' || host === '::') return true
  if (/^fe[89ab][0-9a-f]?:/.test(host)) return true
  // IPv4-mapped (::ffff:127.0.0.1, which the URL parser writes as ::ffff:7f00:1).
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
  if (mapped != null) {
    const high = parseInt(mapped[1] as string, 16)
    const low = parseInt(mapped[2] as string, 16)
    return internalV4(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`)
  }
  return false
}

function internalV4 (host: string): boolean {
  const [a, b] = host.split('.').map(Number) as [number, number]
  return a === 127 || a === 0 || (a === 169 && b === 254)
}

/** Throws 400 BAD_REQUEST when a delivery given over the web pushes to a refused URL. */
export function assertWebPushUrl (delivery: { mode: string, url?: string } | undefined): void {
  if (delivery?.mode !== 'push' || delivery.url == null) return
  const problem = webPushUrlProblem(delivery.url)
  if (problem != null) throw new HubProblem('BAD_REQUEST', problem)
}
