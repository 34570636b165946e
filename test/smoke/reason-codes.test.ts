import t from 'tap'
import { REASON_CODES, isReasonCode } from '../../src/domain/reason-codes.js'

t.test('every reason code maps to an HTTP status and a sentence', async (t) => {
  for (const [code, entry] of Object.entries(REASON_CODES)) {
    t.ok(isReasonCode(code), code)
    t.ok(entry.status >= 400 && entry.status < 500, `${code} is a client error`)
    t.match(entry.sentence, /^\S.{10,}/, `${code} has a sentence`)
  }
  t.notOk(isReasonCode('toString'), 'inherited names are not codes')
})
