import t from 'tap'
import { readFileSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { PROBLEM_CATALOGUE, VDXP_CATALOGUE } from '../../src/vdxp/error-catalogue.js'
import { GATEWAY_CODES } from '../../src/errors/problem.js'
import { REASON_CODES } from '../../src/domain/reason-codes.js'
import { openSecret, parseVdxpKey, sealSecret } from '../../src/vdxp/secret-box.js'
import { hmacMatches, sdkHashFile, signHeaderHmac, SignedParameters, withoutTrailingCrlf } from '../../src/vdxp/signed-headers.js'
import { vdxpJson } from '../../src/vdxp/vdxp-answer.js'
import { ipAllowed } from '../../src/vdxp/ip-allow-list.js'
import { javaHashMapOrder, sdkHashFile as clientHashFile } from '../helpers/vdxp-client.js'

// shared/vdxp-protocol.md §2: the test vector captured from the SDK with a made-up secret.
const VECTOR = {
  secret: 'MadeUpSecret/Key+123=',
  signHeader: '{"XroadVnpt-systemid":"test.system.01","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"25112026T192029+0005","XroadVnpt-Content-Type":"application/json"}',
  hmac: '213788877bfb569f5aa810310087e88cc54c5529c22ba8ff5a38be7222b6ea86'
}

t.test('the protocol document\'s HMAC test vector', async (t) => {
  const computed = signHeaderHmac(VECTOR.secret, Buffer.from(VECTOR.signHeader, 'utf8'))
  t.equal(computed, VECTOR.hmac)
  t.ok(hmacMatches(computed, VECTOR.hmac.toUpperCase()), 'hex case does not matter')
  t.notOk(hmacMatches(computed, VECTOR.hmac.slice(0, 63) + '0'), 'one digit off')
  t.notOk(hmacMatches(computed, VECTOR.hmac.slice(0, 62)), 'shorter')
  const reordered = '{"XroadVnpt-servicetype":"eDoc","XroadVnpt-systemid":"test.system.01","XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"25112026T192029+0005","XroadVnpt-Content-Type":"application/json"}'
  t.not(signHeaderHmac(VECTOR.secret, Buffer.from(reordered)), VECTOR.hmac, 'the same pairs in another order are other bytes: never rebuild the JSON')
  const params = SignedParameters.parse(VECTOR.signHeader)
  t.same([params?.get('systemid'), params?.get('MessageType'), params?.get('docId')], ['test.system.01', 'edoc', undefined])
})

t.test('the test client orders signed headers as the captured SDK requests do', async (t) => {
  t.equal(javaHashMapOrder(['systemid', 'servicetype', 'messagetype', 'timestamp', 'Content-Type']).join(';'), 'systemid;servicetype;messagetype;timestamp;Content-Type')
  t.equal(javaHashMapOrder(['systemid', 'servicetype', 'messagetype', 'hash-file', 'from', 'timestamp', 'Content-Type']).join(';'), 'systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type')
})

t.test('hash-file is unpadded hex of the body without its final CRLF', async (t) => {
  // Find bytes whose digest has a byte below 0x10, so padding would make a difference.
  let bytes = randomBytes(64)
  while (!createHash('sha256').update(bytes).digest().some((b) => b < 0x10)) bytes = randomBytes(64)
  const padded = createHash('sha256').update(bytes).digest('hex')
  t.ok(sdkHashFile(bytes).length < padded.length, `unpadded (${sdkHashFile(bytes).length} < 64 characters)`)
  t.equal(sdkHashFile(bytes), clientHashFile(bytes), 'hub and client agree')
  t.same(withoutTrailingCrlf(Buffer.concat([bytes, Buffer.from('\r\n')])), bytes)
  t.same(withoutTrailingCrlf(Buffer.from('ab\n')), Buffer.from('ab\n'), 'only a CRLF is the SDK\'s')
})

t.test('sealed secrets open only with their key and for their system', async (t) => {
  const key = randomBytes(32)
  const sealed = sealSecret(key, 'sys.a', VECTOR.secret)
  t.equal(openSecret(key, 'sys.a', sealed), VECTOR.secret)
  t.throws(() => openSecret(randomBytes(32), 'sys.a', sealed), 'another key')
  t.throws(() => openSecret(key, 'sys.b', sealed), 'copied onto another system')
  t.throws(() => parseVdxpKey('c2hvcnQ='), /32 bytes/)
  t.equal(parseVdxpKey('ab'.repeat(32)).length, 32)
})

t.test('answers escape every non-ASCII character and drop nulls', async (t) => {
  const text = vdxpJson({ status: 'OK', ErrorDesc: 'Thành công', none: null })
  t.equal(text, '{"status":"OK","ErrorDesc":"Th\\u00e0nh c\\u00f4ng"}')
  t.match(text, /^[\x20-\x7e]*$/)
  t.same(JSON.parse(text), { status: 'OK', ErrorDesc: 'Thành công' })
})

t.test('the IP allow-list', async (t) => {
  const cases: Array<[string[], string, boolean]> = [
    [[], '203.0.113.9', true],
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['192.0.2.7'], '192.0.2.7', true],
    [['2001:db8::/32'], '2001:db8::1', true],
    [['2001:db8::/32'], '127.0.0.1', false]
  ]
  for (const [list, ip, allowed] of cases) t.equal(ipAllowed(list, ip), allowed, `${ip} against [${list.join(', ')}]`)
})

t.test('every lienthong code has a VDXP ErrorCode; codes are unique and the docs table lists them all', async (t) => {
  t.same(Object.keys(PROBLEM_CATALOGUE).sort(), [...Object.keys(GATEWAY_CODES), ...Object.keys(REASON_CODES)].sort())
  const entries = [...Object.values(PROBLEM_CATALOGUE), ...Object.values(VDXP_CATALOGUE)]
  t.equal(new Set(entries.map((e) => e.errorCode)).size, entries.length, 'no ErrorCode used twice')
  t.notOk(entries.some((e) => Number(e.errorCode) === 0), '0 is success')
  const docs = readFileSync(new URL('../../docs/vdxp-compat.md', import.meta.url), 'utf8')
  for (const [code, e] of Object.entries(PROBLEM_CATALOGUE)) t.match(docs, `| ${e.errorCode} | ${code} | ${e.desc} |`, `${code} documented`)
  for (const [rule, e] of Object.entries(VDXP_CATALOGUE)) t.match(docs, `| ${e.errorCode} | VDXP_${rule} | ${e.desc} |`, `VDXP_${rule} documented`)
})
