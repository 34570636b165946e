/**
 * XML whitespace is space, tab, CR and LF, nothing else (XML 1.0 production S). JavaScript's
 * trim() also strips NBSP, U+3000 and the other Unicode spaces, so `\u00a0000.00.00.H41`
 * would route as an agency code no conforming reader sees: envelope text is trimmed here.
 */
export function trimXmlWhitespace (value: string): string {
  let start = 0
  let end = value.length
  while (start < end && isXmlSpace(value.charCodeAt(start))) start++
  while (end > start && isXmlSpace(value.charCodeAt(end - 1))) end--
  return start === 0 && end === value.length ? value : value.slice(start, end)
}

function isXmlSpace (code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d
}
