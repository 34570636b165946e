import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * Replaces one benchmark's section of docs/benchmarks.md, between its marker comments (or appends
 * it), keeping the other benchmarks' sections.
 */
export function writeMarkedSection (docPath: string, startMarker: string, endMarker: string, section: string): void {
  const block = `${startMarker}\n${section}\n${endMarker}`
  if (!existsSync(docPath)) {
    mkdirSync(dirname(docPath), { recursive: true })
    writeFileSync(docPath, `# Benchmarks\n\n${block}\n`)
    return
  }
  const current = readFileSync(docPath, 'utf8')
  const start = current.indexOf(startMarker)
  const end = current.indexOf(endMarker)
  if (start === -1 || end === -1 || end < start) {
    writeFileSync(docPath, `${current.trimEnd()}\n\n${block}\n`)
    return
  }
  writeFileSync(docPath, current.slice(0, start) + block + current.slice(end + endMarker.length))
}
