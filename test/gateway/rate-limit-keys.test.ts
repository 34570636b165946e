import t from 'tap'
import { testHub } from '../helpers/hub.js'

// F04 (issue 9): the rate limit was keyed on the raw Authorization header, so the same key with
// other whitespace or case got a fresh budget (15 of 15 answered past a limit of 10), and every
// junk bearer value got a bucket of its own.

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'

t.test('the same API key spelt with other whitespace or case shares one rate-limit budget', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null, rateLimitPerMinute: 5 })
  const key = keys[G22] as string
  const spellings = [`Bearer ${key}`, `bearer ${key}`, `BEARER ${key}`, `Bearer  ${key}`, `Bearer\t${key}`, `bEaReR   ${key}`, `Bearer ${key} `, `Bearer \t ${key}`]
  const statuses: number[] = []
  for (const authorization of spellings) {
    statuses.push((await app.inject({ url: '/v1/inbox', headers: { authorization } })).statusCode)
  }
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429, 429], 'five answered, then 429 whatever the spelling')
  const limited = await app.inject({ url: '/v1/inbox', headers: { authorization: `BeArEr ${key}` } })
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.ok(limited.headers['retry-after'], 'Retry-After')
  // Another agency's credential has its own budget.
  t.equal((await app.inject({ url: '/v1/inbox', headers: { authorization: `Bearer ${keys[G12]}` } })).statusCode, 200)
})

t.test('junk bearer values are limited per client address, not per value', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null, authFailuresPerMinute: 5 })
  const statuses: number[] = []
  for (let i = 0; i < 10; i++) {
    const authorization = i % 2 === 0 ? `Bearer junk-${i}` : `Bearer lt_${String(i).padStart(12, '0')}_${'A'.repeat(43)}`
    statuses.push((await app.inject({ url: '/v1/inbox', headers: { authorization }, remoteAddress: '198.51.100.7' })).statusCode)
  }
  t.same(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429], 'five failures, then the address is limited')
  const limited = await app.inject({ url: '/v1/inbox', headers: { authorization: 'Bearer more-junk' }, remoteAddress: '198.51.100.7' })
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After')
  const none = await app.inject({ url: '/v1/inbox', remoteAddress: '198.51.100.7' })
  t.equal(none.statusCode, 401, 'no credential at all guesses nothing: 401 even from the exhausted address (credential-presence.ts)')
  t.equal((await app.inject({ url: '/v1/inbox', headers: { authorization: 'Bearer junk' }, remoteAddress: '198.51.100.8' })).statusCode, 401, 'another address has its own budget')
  t.equal((await app.inject({ url: '/v1/inbox', headers: { authorization: `Bearer ${keys[G22]}` }, remoteAddress: '198.51.100.9' })).statusCode, 200, 'a valid key from another address is served')
})
