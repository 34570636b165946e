/**
 * The signed hub directory, format version 1 (docs/directory.md): which agencies a hub serves,
 * how each receives, and which signer certificates are bound to each, so peer hubs can route to
 * them and check a forwarded document's sender binding without editing their own registries.
 * buildDirectoryXml() writes it, readDirectory() reads it back from a verified tree; both go
 * through the same rules, so what is written is exactly what reads back.
 */
import { attributeValue, type XmlElement } from '../../xmldsig/xml-tree.js'

export const DIRECTORY_NS = 'urn:lienthong:directory:1'
export const DIRECTORY_FORMAT_VERSION = '1'
/** Agencies in one directory: a province serves a few thousand units; far below a size cap of MBs. */
export const MAX_DIRECTORY_AGENCIES = 20_000
const MAX_FINGERPRINTS = 16
const MAX_RULE_ATTRIBUTES = 8
const MAX_NAME_LENGTH = 512

export interface DirectoryAgency {
  code: string
  name: string
  /** How the agency receives from its hub; endpoints and their secrets are never published. */
  receives: 'push' | 'pull'
  /** SHA-256 fingerprints of certificates bound to the agency's signers (lower-case hex). */
  signerFingerprints: string[]
  /** Subject attributes (registry names: UID, O, CN...) a bound certificate carries, all of them. */
  subjectRule?: Record<string, string>
}

export interface HubDirectory {
  hubId: string
  /** Increases with every new issue of the directory; a peer never accepts a lower one. */
  version: number
  issuedAt: Date
  validUntil: Date
  agencies: DirectoryAgency[]
}

export class DirectoryFormatError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DirectoryFormatError'
  }
}

const HUB_ID = /^[a-z0-9][a-z0-9.-]{0,62}$/
const AGENCY_CODE = /^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+){0,4}$/
const FINGERPRINT = /^[0-9a-f]{64}$/
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9]{0,31}$/
// One canonical time form (Date.toISOString()), so the time read back is the very string signed.
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
// XML 1.0 cannot carry these at all, not even escaped.
const NOT_XML_CHAR = /[^\t\n\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u

/** Checks a directory against the format's rules (both when writing and when reading). */
export function checkDirectory (d: HubDirectory): void {
  if (!HUB_ID.test(d.hubId)) throw new DirectoryFormatError(`hub id ${JSON.stringify(d.hubId.slice(0, 80))} is not lower-case letters, digits, dots and dashes`)
  if (!Number.isSafeInteger(d.version) || d.version < 1) throw new DirectoryFormatError(`version ${d.version} is not a positive integer`)
  if (Number.isNaN(d.issuedAt.getTime()) || Number.isNaN(d.validUntil.getTime())) throw new DirectoryFormatError('issuedAt and validUntil must be times')
  if (d.validUntil <= d.issuedAt) throw new DirectoryFormatError('validUntil must be after issuedAt')
  if (d.agencies.length > MAX_DIRECTORY_AGENCIES) throw new DirectoryFormatError(`more than ${MAX_DIRECTORY_AGENCIES} agencies`)
  const seen = new Set<string>()
  for (const a of d.agencies) {
    if (!AGENCY_CODE.test(a.code)) throw new DirectoryFormatError(`agency code ${JSON.stringify(a.code.slice(0, 80))} is not a code of dot-separated letters and digits`)
    if (seen.has(a.code)) throw new DirectoryFormatError(`agency ${a.code} is listed twice`)
    seen.add(a.code)
    if (a.name.length === 0 || a.name.length > MAX_NAME_LENGTH || NOT_XML_CHAR.test(a.name) || a.name !== a.name.trim()) {
      throw new DirectoryFormatError(`agency ${a.code}: the name must be 1 to ${MAX_NAME_LENGTH} characters of XML text without a CR or surrounding spaces`)
    }
    if (a.receives !== 'push' && a.receives !== 'pull') throw new DirectoryFormatError(`agency ${a.code}: receives must be push or pull`)
    if (a.signerFingerprints.length > MAX_FINGERPRINTS) throw new DirectoryFormatError(`agency ${a.code}: more than ${MAX_FINGERPRINTS} signer fingerprints`)
    for (const f of a.signerFingerprints) if (!FINGERPRINT.test(f)) throw new DirectoryFormatError(`agency ${a.code}: ${JSON.stringify(f.slice(0, 80))} is not a lower-case SHA-256 fingerprint`)
    const rule = Object.entries(a.subjectRule ?? {})
    if (rule.length > MAX_RULE_ATTRIBUTES) throw new DirectoryFormatError(`agency ${a.code}: more than ${MAX_RULE_ATTRIBUTES} subject rule attributes`)
    for (const [name, value] of rule) {
      if (!ATTRIBUTE_NAME.test(name)) throw new DirectoryFormatError(`agency ${a.code}: subject attribute name ${JSON.stringify(name.slice(0, 40))}`)
      if (value.length === 0 || value.length > MAX_NAME_LENGTH || NOT_XML_CHAR.test(value) || value !== value.trim()) {
        throw new DirectoryFormatError(`agency ${a.code}: subject attribute ${name} must be 1 to ${MAX_NAME_LENGTH} characters of XML text without surrounding spaces`)
      }
    }
    if (a.signerFingerprints.length === 0 && rule.length === 0) throw new DirectoryFormatError(`agency ${a.code}: neither signer fingerprints nor a subject rule; nothing could sign for it`)
  }
}

/**
 * The unsigned directory XML. Deterministic: agencies sorted by code, fingerprints and rule
 * attributes sorted, one fixed layout; the same directory always gives the same bytes (and the
 * RSA PKCS#1 v1.5 signature over them is deterministic too, so the signed bytes and their ETag are).
 */
export function buildDirectoryXml (d: HubDirectory): string {
  checkDirectory(d)
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<HubDirectory xmlns="${DIRECTORY_NS}" version="${DIRECTORY_FORMAT_VERSION}">`,
    `  <HubId>${d.hubId}</HubId>`,
    `  <Version>${d.version}</Version>`,
    `  <IssuedAt>${d.issuedAt.toISOString()}</IssuedAt>`,
    `  <ValidUntil>${d.validUntil.toISOString()}</ValidUntil>`,
    '  <Agencies>'
  ]
  for (const a of [...d.agencies].sort((x, y) => compare(x.code, y.code))) {
    lines.push('    <Agency>', `      <Code>${a.code}</Code>`, `      <Name>${escapeText(a.name)}</Name>`, `      <Receives>${a.receives}</Receives>`, '      <Signers>')
    for (const f of [...new Set(a.signerFingerprints)].sort(compare)) lines.push(`        <Fingerprint>${f}</Fingerprint>`)
    for (const [name, value] of Object.entries(a.subjectRule ?? {}).sort(([x], [y]) => compare(x, y))) {
      lines.push(`        <SubjectAttribute name="${name}">${escapeText(value)}</SubjectAttribute>`)
    }
    lines.push('      </Signers>', '    </Agency>')
  }
  lines.push('  </Agencies>')
  return lines.join('\n') + '\n</HubDirectory>\n'
}

/**
 * Reads a directory back from its root element, refusing anything the format does not have
 * (unknown or repeated elements, wrong order, stray attributes or text). `signature` is the
 * verified signature element, skipped. Comments are skipped: they are not signed.
 */
export function readDirectory (root: XmlElement, signature?: XmlElement): HubDirectory {
  if (root.uri !== DIRECTORY_NS || root.local !== 'HubDirectory') throw new DirectoryFormatError(`the root element is {${root.uri}}${root.local}, not {${DIRECTORY_NS}}HubDirectory`)
  const version = attributeValue(root, 'version')
  if (version !== DIRECTORY_FORMAT_VERSION) throw new DirectoryFormatError(`directory format version ${JSON.stringify(version ?? null)} is not supported (only "${DIRECTORY_FORMAT_VERSION}")`)
  checkAttributes(root, ['version'])
  const [hubId, ver, issuedAt, validUntil, agencies, ...extra] = children(root, signature)
  if (extra.length > 0) throw new DirectoryFormatError(`<${extra[0]?.local ?? ''}> is not expected after <Agencies>`)
  const d: HubDirectory = {
    hubId: leaf(hubId, 'HubId'),
    version: integerText(leaf(ver, 'Version')),
    issuedAt: timeText(leaf(issuedAt, 'IssuedAt')),
    validUntil: timeText(leaf(validUntil, 'ValidUntil')),
    agencies: []
  }
  const list = expect(agencies, 'Agencies')
  checkAttributes(list, [])
  const items = children(list)
  if (items.length > MAX_DIRECTORY_AGENCIES) throw new DirectoryFormatError(`more than ${MAX_DIRECTORY_AGENCIES} agencies`)
  for (const item of items) d.agencies.push(readAgency(expect(item, 'Agency')))
  checkDirectory(d)
  return d
}

function readAgency (element: XmlElement): DirectoryAgency {
  checkAttributes(element, [])
  const [code, name, receives, signers, ...extra] = children(element)
  if (extra.length > 0) throw new DirectoryFormatError(`<${extra[0]?.local ?? ''}> is not expected in <Agency>`)
  const receivesText = leaf(receives, 'Receives')
  if (receivesText !== 'push' && receivesText !== 'pull') throw new DirectoryFormatError(`<Receives> must be push or pull, not ${JSON.stringify(receivesText.slice(0, 20))}`)
  const agency: DirectoryAgency = { code: leaf(code, 'Code'), name: leaf(name, 'Name'), receives: receivesText, signerFingerprints: [] }
  const signerList = expect(signers, 'Signers')
  checkAttributes(signerList, [])
  const rule: Record<string, string> = {}
  for (const s of children(signerList)) {
    if (s.local === 'Fingerprint') {
      agency.signerFingerprints.push(leaf(s, 'Fingerprint'))
    } else if (s.local === 'SubjectAttribute') {
      const attr = attributeValue(s, 'name') ?? ''
      checkAttributes(s, ['name'])
      if (attr in rule) throw new DirectoryFormatError(`agency ${agency.code}: subject attribute ${attr} given twice`)
      rule[attr] = text(s)
    } else {
      throw new DirectoryFormatError(`<${s.local}> is not expected in <Signers>`)
    }
  }
  if (Object.keys(rule).length > 0) agency.subjectRule = rule
  return agency
}

function children (parent: XmlElement, skip?: XmlElement): XmlElement[] {
  const out: XmlElement[] = []
  for (const n of parent.children) {
    if (n.kind === 'comment') continue
    if (n.kind === 'element') {
      if (n === skip) continue
      if (n.uri !== DIRECTORY_NS) throw new DirectoryFormatError(`<${n.qname}> is not in the directory namespace`)
      out.push(n)
    } else if (n.kind === 'text') {
      if (!/^[ \t\r\n]*$/.test(n.value)) throw new DirectoryFormatError(`text directly inside <${parent.local}>`)
    } else {
      throw new DirectoryFormatError(`<${parent.local}> holds a processing instruction`)
    }
  }
  return out
}

function expect (element: XmlElement | undefined, local: string): XmlElement {
  if (element == null || element.local !== local) throw new DirectoryFormatError(`<${local}> expected${element != null ? ` where <${element.local}> is` : ''}`)
  return element
}

function leaf (element: XmlElement | undefined, local: string): string {
  const e = expect(element, local)
  checkAttributes(e, [])
  return text(e)
}

function text (element: XmlElement): string {
  let out = ''
  for (const n of element.children) {
    if (n.kind === 'comment') continue
    if (n.kind !== 'text') throw new DirectoryFormatError(`<${element.local}> holds markup; only text is expected`)
    out += n.value
  }
  return out
}

function checkAttributes (element: XmlElement, allowed: string[]): void {
  for (const a of element.attributes) {
    if (!(a.uri === '' && allowed.includes(a.local))) throw new DirectoryFormatError(`<${element.local}> has an unexpected attribute ${a.qname}`)
  }
}

function integerText (value: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(value)) throw new DirectoryFormatError(`<Version> must be a positive integer, not ${JSON.stringify(value.slice(0, 20))}`)
  return Number(value)
}

function timeText (value: string): Date {
  const date = new Date(value)
  if (!TIME.test(value) || Number.isNaN(date.getTime()) || date.toISOString() !== value) throw new DirectoryFormatError(`${JSON.stringify(value.slice(0, 40))} is not a UTC time as YYYY-MM-DDTHH:MM:SS.sssZ`)
  return date
}

/** Code-point order, independent of the locale (the bytes must not depend on where the hub runs). */
function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** `>` escaped so `]]>` cannot appear; CR as a reference (a parser would turn a literal one into LF). */
function escapeText (value: string): string {
  return value.replace(/[&<>\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' })[c] as string)
}
