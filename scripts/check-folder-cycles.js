#!/usr/bin/env node
/**
 * Fails (exit 1) when top-level folders of src/ import each other, directly (a <-> b) or round a
 * longer loop (a -> b -> c -> a). dependency-cruiser's own `circular` rule sees only file cycles:
 * a folder cycle needs no file cycle (a/x -> b/y -> a/z), and a collapsed graph is not validated
 * again, so this script takes depcruise's resolved imports (same config as `npm run lint`: type
 * imports count) and finds the strongly connected components of the folder graph.
 *
 *   node scripts/check-folder-cycles.js          check; print each cycle with example imports
 *   node scripts/check-folder-cycles.js --graph  print the folder graph ("a -> b, c") and check
 */
import { cruise } from 'dependency-cruiser'
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options'
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config'

/** src/accept/x.ts -> src/accept; a file directly in src/ (src/paths.ts) is its own node. */
function folderOf (path) {
  const match = /^src\/([^/]+)\//.exec(path)
  return match != null ? `src/${match[1]}` : path
}

/** Tarjan's algorithm: the strongly connected components of `graph` (node -> Set of nodes). */
function stronglyConnected (graph) {
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const components = []
  const visit = (node) => {
    index.set(node, index.size)
    low.set(node, index.get(node))
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node), low.get(next)))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), index.get(next)))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component = []
      let member
      do {
        member = stack.pop()
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      components.push(component.sort())
    }
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node)
  return components
}

const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs')
const result = await cruise(['src'], { ...options, validate: false }, {}, { tsConfig: extractTSConfig('./tsconfig.json') })
const cruised = typeof result.output === 'string' ? JSON.parse(result.output) : result.output

const graph = new Map()
/** "a -> b" -> the first file-level import that makes the folder edge, for the message. */
const example = new Map()
for (const mod of cruised.modules) {
  if (!mod.source.startsWith('src/')) continue
  const from = folderOf(mod.source)
  if (!graph.has(from)) graph.set(from, new Set())
  for (const dep of mod.dependencies) {
    if (!dep.resolved.startsWith('src/')) continue
    const to = folderOf(dep.resolved)
    if (to === from) continue
    graph.get(from).add(to)
    if (!example.has(`${from} -> ${to}`)) example.set(`${from} -> ${to}`, `${mod.source} imports ${dep.resolved}`)
  }
}

if (process.argv.includes('--graph')) {
  for (const [from, tos] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${from} -> ${[...tos].sort().join(', ') || '(nothing of ours)'}`)
  }
}

const cycles = stronglyConnected(graph).filter((component) => component.length > 1)
if (cycles.length === 0) {
  console.log(`folder cycles: none (${graph.size} folders of src/)`)
} else {
  for (const component of cycles) {
    console.error(`folder cycle: ${component.join(', ')}`)
    for (const from of component) {
      for (const to of graph.get(from)) {
        if (component.includes(to)) console.error(`  ${from} -> ${to}: ${example.get(`${from} -> ${to}`)}`)
      }
    }
  }
  console.error(`${cycles.length} folder cycle(s): move the shared part (a type, a catalogue, a path) down into src/domain, src/errors or src/paths.ts`)
  process.exitCode = 1
}
