import type { NamespacePrefix } from 'xml-crypto'
import { C14nCanonicalization, C14nCanonicalizationWithComments, ExclusiveCanonicalization, ExclusiveCanonicalizationWithComments } from 'xml-crypto'

/**
 * Memory: xml-crypto's C14N builds each element's output with `parts.join('')` and returns it to
 * its parent, which joins again, so a 20 MB attachment four levels deep is copied four times
 * (bench/verify measured 12x the document size at peak). These subclasses produce the very same
 * output (differential test in test/verification/flat-c14n.test.ts) but push every piece into
 * one array and join once. Only the element branch is re-implemented, text and comments still
 * go through the library's own code.
 */
type Internals = {
  renderNs: (node: Element, ...rest: unknown[]) => { rendered: string, newDefaultNs: string }
  renderAttrs: (node: Element) => string
}

function isElement (node: Node): node is Element {
  return node.nodeType === 1
}

export class FlatExclusiveC14n extends ExclusiveCanonicalization {
  override processInner (node: Node, prefixesInScope: string[], defaultNs: string, defaultNsForPrefix: Record<string, string>, inclusive: string[]): string {
    const parts: string[] = []
    const visit = (n: Node, prefixes: string[], currentDefault: string): void => {
      if (!isElement(n)) {
        parts.push(super.processInner(n, prefixes, currentDefault, defaultNsForPrefix, inclusive))
        return
      }
      const self = this as unknown as Internals
      const ns = self.renderNs(n, prefixes, currentDefault, defaultNsForPrefix, inclusive)
      parts.push('<', n.tagName, ns.rendered, self.renderAttrs(n), '>')
      for (let i = 0; i < n.childNodes.length; i++) visit(n.childNodes[i] as Node, prefixes.slice(0), ns.newDefaultNs)
      parts.push('</', n.tagName, '>')
    }
    visit(node, prefixesInScope, defaultNs)
    return parts.join('')
  }
}

export class FlatExclusiveC14nWithComments extends FlatExclusiveC14n {
  constructor () {
    super()
    // Same switch the library's WithComments subclass flips.
    ;(this as unknown as { includeComments: boolean }).includeComments = true
  }

  override getAlgorithmName (): string {
    return new ExclusiveCanonicalizationWithComments().getAlgorithmName()
  }
}

export class FlatC14n extends C14nCanonicalization {
  override processInner (node: Node, prefixesInScope: string[], defaultNs: string, defaultNsForPrefix: Record<string, string>, ancestorNamespaces: NamespacePrefix[], namespacesInScope?: NamespacePrefix[]): string {
    const parts: string[] = []
    const visit = (n: Node, prefixes: string[], currentDefault: string, ancestors: NamespacePrefix[], inScope: NamespacePrefix[] | undefined): void => {
      if (!isElement(n)) {
        parts.push(super.processInner(n, prefixes, currentDefault, defaultNsForPrefix, ancestors, inScope))
        return
      }
      const self = this as unknown as Internals
      const ns = self.renderNs(n, prefixes, currentDefault, defaultNsForPrefix, ancestors, inScope)
      parts.push('<', n.tagName, ns.rendered, self.renderAttrs(n), '>')
      for (let i = 0; i < n.childNodes.length; i++) visit(n.childNodes[i] as Node, prefixes.slice(0), ns.newDefaultNs, [], inScope?.slice(0))
      parts.push('</', n.tagName, '>')
    }
    visit(node, prefixesInScope, defaultNs, ancestorNamespaces, namespacesInScope)
    return parts.join('')
  }
}

export class FlatC14nWithComments extends FlatC14n {
  constructor () {
    super()
    ;(this as unknown as { includeComments: boolean }).includeComments = true
  }

  override getAlgorithmName (): string {
    return new C14nCanonicalizationWithComments().getAlgorithmName()
  }
}
