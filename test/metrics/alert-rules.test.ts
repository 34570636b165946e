import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { HubMetrics } from '../../src/metrics/hub-metrics.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { ROOT } from '../helpers/example-pki.js'
import { testDatabase } from '../helpers/database.js'
import { REDIS_URL, testHub } from '../helpers/hub.js'
import { parseExposition, seriesNames } from './exposition.js'

// The shipped rules file must only reference series the hub exposes (a renamed metric would leave
// an alert that can never fire), and every alert and metric must be explained in the runbook.

interface Rule { alert?: string, expr?: string, for?: string, labels?: Record<string, string>, annotations?: Record<string, string> }

const RULES_FILE = join(ROOT, 'docs', 'prometheus-alerts.yaml')
const RUNBOOK = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8')
/** Series Prometheus itself makes for every target. */
const PROMETHEUS_SERIES = new Set(['up'])
const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan'])

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers,
 * grouping clauses, ranges and numbers are removed, and function or aggregation names (an
 * identifier followed by "(") and keywords are skipped.
 */
function metricNames (expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' ')
  const names: string[] = []
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = bare.slice((match.index) + match[0].length)
    if (/^\s*\(/.test(rest) || PROMQL_WORDS.has(match[0].toLowerCase())) continue
    names.push(match[0])
  }
  return names
}

const squash = (text: string): string => text.replace(/\s+/g, ' ').trim()

/** The PromQL block of the runbook section `### <alert>`, whitespace squashed; undefined without one. */
function runbookExpression (alert: string): string | undefined {
  const start = RUNBOOK.search(new RegExp(`^### ${alert}$`, 'm'))
  if (start < 0) return undefined
  const section = RUNBOOK.slice(start).split(/\n(?=##)/)[0] as string
  const block = /```promql\n([\s\S]*?)```/.exec(section)
  return block == null ? undefined : squash(block[1] as string)
}

t.test('metricNames reads the selectors out of PromQL (so the check below can fail)', async (t) => {
  const cases: [string, string[]][] = [
    ['up{job=~"lienthong.*"} == 0', ['up']],
    ['sum by (reason) (rate(a_total{reason!="BUSY"}[15m])) / ignoring (reason) group_left () sum(rate(b_total[15m]))', ['a_total', 'b_total']],
    ['histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 5', ['x_bucket']],
    ['delta(max(g{state="waiting_retry"})[1h:5m]) > 1e-3 and g > 20', ['g', 'g']]
  ]
  for (const [expr, names] of cases) t.same(metricNames(expr), names, expr)
})

t.test('every alert is well formed, names only series the hub exposes, and is in the runbook', async (t) => {
  // Every family a gateway and a worker expose (families are listed even without samples).
  const db = await testDatabase(t)
  const queue = new DeliveryQueue(REDIS_URL, `{lt-rules-${process.pid}-${randomBytes(4).toString('hex')}}`)
  t.teardown(async () => { await queue.queue.obliterate({ force: true }).catch(() => {}); await queue.close() })
  const gateway = await testHub(t, { db, redisUrl: null, queue, metrics: new HubMetrics({ db, queue }) })
  const scraped = await gateway.app.inject({ method: 'GET', url: '/metrics' })
  t.equal(scraped.statusCode, 200)
  const worker = new HubMetrics({ db, clusterGauges: false })
  const exposed = new Set([...seriesNames(parseExposition(scraped.body)), ...seriesNames(parseExposition(await worker.scrape()))])
  t.ok(exposed.has('lienthong_documents_rejected_total') && exposed.has('lienthong_queue_jobs'), 'the scrape lists the hub families')

  const file = parse(readFileSync(RULES_FILE, 'utf8')) as { groups?: { name?: string, rules?: Rule[] }[] }
  const rules = (file.groups ?? []).flatMap((g) => g.rules ?? [])
  t.ok(rules.length >= 10, `${rules.length} alerts`)
  const seen = new Set<string>()
  for (const rule of rules) {
    const name = rule.alert ?? '(unnamed)'
    t.match(name, /^Lienthong[A-Z]\w+$/, `${name}: alert name`)
    t.notOk(seen.has(name), `${name}: unique`)
    seen.add(name)
    t.type(rule.expr, 'string', `${name}: expr`)
    t.ok(['critical', 'warning', 'info'].includes(rule.labels?.severity ?? ''), `${name}: severity label`)
    t.ok((rule.annotations?.summary ?? '') !== '' && (rule.annotations?.description ?? '') !== '', `${name}: summary and description`)
    if (rule.for != null) t.match(rule.for, /^\d+[smh]$/, `${name}: for`)
    const names = metricNames(rule.expr ?? '')
    t.ok(names.length > 0, `${name}: selects at least one series`)
    for (const metric of names) t.ok(exposed.has(metric) || PROMETHEUS_SERIES.has(metric), `${name}: ${metric} is exposed by the hub`)
    t.equal(runbookExpression(name), squash(rule.expr ?? ''), `${name}: docs/operations.md has a section with the same expression`)
  }

  // And the other way round: every lienthong_ family is described in the runbook's metric list.
  const families = [...exposed].filter((n) => n.startsWith('lienthong_') && !/_(bucket|sum|count)$/.test(n))
  for (const family of families) t.match(RUNBOOK, `\`${family}\``, `${family} is described in docs/operations.md`)
})
