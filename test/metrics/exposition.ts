/**
 * A small reader of the Prometheus text exposition format (0.0.4), enough to assert on what the
 * hub serves: metric families (# TYPE) and samples with their labels. Throws on a line it cannot
 * read, so a malformed exposition fails the test instead of being skipped.
 */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  /** Family name -> type (counter, gauge, histogram...). */
  types: Map<string, string>
  samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/

export function parseExposition (text: string): Exposition {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line)
      if (type != null) types.set(type[1] as string, type[2] as string)
      continue
    }
    samples.push(parseSample(line))
  }
  return { types, samples }
}

function parseSample (line: string): Sample {
  const name = NAME.exec(line)?.[0]
  if (name == null) throw new Error(`not a sample line: ${line}`)
  let i = name.length
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    while (line[i] !== '}') {
      const label = NAME.exec(line.slice(i))?.[0]
      if (label == null || line[i + label.length] !== '=' || line[i + label.length + 1] !== '"') throw new Error(`bad label at ${i}: ${line}`)
      i += label.length + 2
      let value = ''
      for (;;) {
        const c = line[i++]
        if (c == null) throw new Error(`unterminated label value: ${line}`)
        if (c === '"') break
        if (c === '\\') {
          const escaped = line[i++]
          value += escaped === 'n' ? '\n' : (escaped ?? '')
        } else {
          value += c
        }
      }
      labels[label] = value
      if (line[i] === ',') i++
    }
    i++
  }
  const [raw] = line.slice(i).trim().split(/\s+/)
  // Prometheus reads special values case-insensitively (prom-client writes "Nan").
  const special: Record<string, number> = { '+inf': Infinity, inf: Infinity, '-inf': -Infinity, nan: NaN }
  const lower = raw?.toLowerCase() ?? ''
  const value = lower in special ? special[lower] as number : Number(raw)
  if (raw == null || (Number.isNaN(value) && lower !== 'nan')) throw new Error(`bad value: ${line}`)
  return { name, labels, value }
}

/** Samples named `name` whose labels include every one of `labels`. */
export function find (exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
}

/** The value of the one sample named `name` with exactly these labels (le aside); undefined if absent. */
export function value (exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const matches = exposition.samples.filter((s) => s.name === name &&
    Object.keys(s.labels).length === Object.keys(labels).length &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} ${JSON.stringify(labels)}`)
  return matches[0]?.value
}

/** Sum of every sample named `name` whose labels include `labels`. */
export function total (exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  return find(exposition, name, labels).reduce((sum, s) => sum + s.value, 0)
}

/**
 * Every series name the exposition can be queried by: each family and, for histograms and
 * summaries, its _bucket/_sum/_count series.
 */
export function seriesNames (exposition: Exposition): Set<string> {
  const names = new Set(exposition.samples.map((s) => s.name))
  for (const [family, type] of exposition.types) {
    names.add(family)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix)
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(family + suffix)
  }
  return names
}
