import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { unknownEnvKeys, warnUnknownEnvKeys } from '../../src/config/unknown-env-keys.js'
import { testDatabase } from '../helpers/database.js'
import { REDIS_URL } from '../helpers/hub.js'
import { databaseUrlOf, lienthongEnv, spawnLienthong } from '../helpers/hub-process.js'

// A misspelt key (LIENTHONG_PROT=9000) used to be ignored without a word, and the hub ran on the
// default. Start-up now names every LIENTHONG_* key the schema does not know, with the key it is
// most likely a typo of.

t.test('unknown LIENTHONG_* keys, with a suggestion when one is close', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['LIENTHONG_PROT', 'LIENTHONG_PORT'], // two letters swapped
    ['LIENTHONG_LOGLEVEL', 'LIENTHONG_LOG_LEVEL'], // one missing
    ['LIENTHONG_DELIVERY_MAX_PER_RECIPIENTS', 'LIENTHONG_DELIVERY_MAX_PER_RECIPIENT'],
    ['LIENTHONG_FOO', undefined], // nothing close
    ['LIENTHONG_SOMETHING_ELSE_ENTIRELY', undefined]
  ]
  for (const [key, suggestion] of cases) {
    t.same(unknownEnvKeys({ [key]: '1' }), [suggestion != null ? { key, suggestion } : { key }], key)
  }
  t.same(unknownEnvKeys({ LIENTHONG_PORT: '1', DATABASE_URL: 'x', PATH: '/bin', LIENTHONG_HOST: '' }), [], 'known keys and other variables are not reported')
})

t.test('one warning line names them all', async (t) => {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } }))
  warnUnknownEnvKeys(logger, { LIENTHONG_PROT: '9000', LIENTHONG_FOO: 'x', LIENTHONG_PORT: '1' })
  warnUnknownEnvKeys(logger, { LIENTHONG_PORT: '1' })
  t.equal(lines.length, 1, 'nothing when every key is known')
  const line = JSON.parse(lines[0] as string) as { level: number, msg: string, unknownKeys: string[] }
  t.equal(line.level, 40, 'a warning')
  t.same(line.unknownKeys, ['LIENTHONG_FOO', 'LIENTHONG_PROT'])
  t.equal(line.msg, 'unknown configuration keys ignored: LIENTHONG_FOO, LIENTHONG_PROT (did you mean LIENTHONG_PORT?); the keys are listed in .env.example')
})

t.test('lienthong worker warns at start and runs on', async (t) => {
  const db = await testDatabase(t)
  const worker = spawnLienthong(t, 'worker', lienthongEnv({
    DATABASE_URL: databaseUrlOf(db),
    REDIS_URL,
    LIENTHONG_QUEUE_PREFIX: `{lt-unknown-keys-${process.pid}}`,
    LIENTHONG_DATA_DIR: t.testdir(),
    LIENTHONG_RECONCILE_INTERVALL_MS: '500'
  }))
  await worker.waitForOutput(/consuming deliveries/, 60_000)
  t.match(worker.stdout, /"level":40.*unknown configuration key ignored: LIENTHONG_RECONCILE_INTERVALL_MS \(did you mean LIENTHONG_RECONCILE_INTERVAL_MS\?\)/)
  t.same(await worker.stop('SIGTERM', 40_000), { code: 0, signal: null })
})
