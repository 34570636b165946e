import t from 'tap'
import { formatDate, stateLabel, stateTone, statusLabel } from '../../src/console/format.js'
import { html, SafeHtml } from '../../src/console/html.js'
import { CATALOGUES, chooseLang, translator } from '../../src/console/i18n/messages.js'
import { switchLangHref } from '../../src/console/layout.js'
import { csvCell as csvField } from '../../src/evidence/signature-log-export.js'

t.test('the Vietnamese and English catalogues have the same keys, none empty', async (t) => {
  t.same(Object.keys(CATALOGUES.en).sort(), Object.keys(CATALOGUES.vi).sort())
  for (const [lang, catalogue] of Object.entries(CATALOGUES)) {
    for (const [key, text] of Object.entries(catalogue)) t.ok(text.trim() !== '', `${lang} ${key}`)
  }
  t.not(CATALOGUES.vi['state.failed'], CATALOGUES.en['state.failed'], 'actually translated')
})

t.test('dates are dd/MM/yyyy HH:mm in Vietnam\'s time', async (t) => {
  const cases: Array<[string, string]> = [
    ['2026-01-31T17:05:00Z', '01/02/2026 00:05'], // next day in UTC+7
    ['2026-12-31T16:59:59Z', '31/12/2026 23:59'],
    ['2026-03-09T01:02:00Z', '09/03/2026 08:02']
  ]
  for (const [iso, expected] of cases) t.equal(formatDate(iso), expected, iso)
  t.equal(formatDate(null), '')
  t.equal(formatDate('not a date'), '')
})

t.test('states: a tone and words, unknown states as stored', async (t) => {
  const vi = translator('vi')
  const cases: Array<[string, string, string]> = [
    ['delivered', 'ok', 'Đã chuyển'], ['failed', 'bad', 'Thất bại'], ['waiting_retry', 'wait', 'Chờ gửi lại'],
    ['cancelled', 'muted', 'Đã huỷ'], ['something_new', 'muted', 'something_new']
  ]
  for (const [state, tone, label] of cases) {
    t.equal(stateTone(state), tone, `${state} tone`)
    t.equal(stateLabel(vi, state), label, `${state} label`)
  }
  t.equal(statusLabel(vi, '03'), '03 · Đã tiếp nhận')
  t.equal(statusLabel(translator('en'), '99'), 'Status 99')
})

t.test('language: ?lang first, then the cookie, else Vietnamese', async (t) => {
  const cases: Array<[string | undefined, string | undefined, string]> = [
    [undefined, undefined, 'vi'], ['en', undefined, 'en'], ['vi', 'en', 'vi'], [undefined, 'en', 'en'], ['fr', 'xx', 'vi']
  ]
  for (const [query, cookie, lang] of cases) t.equal(chooseLang(query, cookie), lang, `${String(query)} ${String(cookie)}`)
  t.equal(switchLangHref('/console/sent?number=12&lang=vi', 'en'), '/console/sent?number=12&lang=en')
})

t.test('html escapes every interpolated value except fragments', async (t) => {
  const subject = '<script>alert("x")</script> & \'q\''
  t.equal(html`<td>${subject}</td>`.value, '<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</td>')
  t.equal(html`<p>${html`<b>${'<i>'}</b>`}</p>`.value, '<p><b>&lt;i&gt;</b></p>')
  t.equal(html`${[1, null, false, 'a']}`.value, '1a')
  t.ok(html`` instanceof SafeHtml)
})

t.test('CSV fields (the export the console shares with the auditor API): quoted when needed, formulas defused', async (t) => {
  const cases: Array<[string | number | null, string]> = [
    [null, ''], [12, '12'], ['plain', 'plain'], ['a,b', '"a,b"'], ['say "hi"', '"say ""hi"""'], ['=cmd()', "'=cmd()"], ['-1+1', "'-1+1"]
  ]
  for (const [value, expected] of cases) t.equal(csvField(value), expected, String(value))
})
