// Module customization hooks (they run on Node's loader thread): one line per resolved module.
import { appendFileSync } from 'node:fs'

let log

export function initialize (data) {
  log = data.log
}

export async function resolve (specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context)
  if (log != null) appendFileSync(log, `${resolved.url}\n`)
  return resolved
}
