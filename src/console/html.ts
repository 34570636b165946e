/** Text already escaped (or markup we wrote): the only thing `html` inserts without escaping. */
export class SafeHtml {
  constructor (readonly value: string) {}
  toString (): string { return this.value }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

type Interpolated = SafeHtml | string | number | null | undefined | false | readonly Interpolated[]

function render (value: Interpolated): string {
  if (value == null || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

/**
 * The pages' template tag: every interpolated value is escaped unless it is SafeHtml (another
 * `html` fragment), so a subject or an error text sent by an agency can never become markup.
 */
export function html (strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0] as string
  for (let i = 0; i < values.length; i++) out += render(values[i] as Interpolated) + (strings[i + 1] as string)
  return new SafeHtml(out)
}
