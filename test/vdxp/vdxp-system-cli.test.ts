import t from 'tap'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { runCli } from '../helpers/cli.js'
import { testDatabase } from '../helpers/database.js'
import { testHub } from '../helpers/hub.js'
import { databaseUrlOf, lienthongEnv } from '../helpers/hub-process.js'
import { VdxpClient } from '../helpers/vdxp-client.js'

// `lienthong vdxp-system add|rotate|list|remove` as an operator runs it, against the database a
// running hub uses: the printed secret authenticates, a rotated one replaces it at once, a removed
// system is refused, and no listing shows a secret.

const lienthong = runCli

t.test('add, list, rotate, remove', async (t) => {
  const db = await testDatabase(t)
  const key = randomBytes(32)
  const env = lienthongEnv({ DATABASE_URL: databaseUrlOf(db), LIENTHONG_VDXP_SECRET_KEY: key.toString('hex') })
  const added = await lienthong(['vdxp-system', 'add', 'so.cli', '--agency', '000.00.00.H41,000.00.00.G12', '--allow-ip', '127.0.0.1'], env)
  t.equal(added.code, 0, added.stderr)
  const secret = added.stdout.trim()
  t.match(secret, /^[A-Za-z0-9+/]{43}=$/, 'the secret, once, on stdout')

  const hub = await testHub(t, { db, redisUrl: null, vdxpKey: key })
  await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}/vdxp`
  const ask = async (s: string): Promise<unknown> => (await new VdxpClient(endpoint, 'so.cli', s).callWithoutBody('getAgenciesList', {})).json?.ErrorCode
  t.equal(await ask(secret), '0', 'the printed secret authenticates')

  const listed = await lienthong(['vdxp-system', 'list'], env)
  t.match(listed.stdout, /^so\.cli\tagencies=000\.00\.00\.H41,000\.00\.00\.G12\tdirectory-changes=no\tallow-ip=127\.0\.0\.1$/m)
  t.notOk(listed.stdout.includes(secret), 'no secret in the listing')

  const rotated = await lienthong(['vdxp-system', 'rotate', 'so.cli'], env)
  t.equal(rotated.code, 0, rotated.stderr)
  t.same([await ask(secret), await ask(rotated.stdout.trim())], ['101', '0'], 'the old secret stops, the new one works')

  const refusals = [
    { args: ['vdxp-system', 'add', 'so.cli', '--agency', '000.00.00.H41'], message: /exists already/ },
    { args: ['vdxp-system', 'add', 'so.other', '--agency', '000.99.99.X00'], message: /not in the registry/ },
    { args: ['vdxp-system', 'add', 'so.other', '--agency', '000.00.00.H41', '--allow-ip', '10.0.0.0/99'], message: /not an IP address or CIDR range/ },
    { args: ['vdxp-system', 'rotate', 'so.nobody'], message: /no VDXP system so\.nobody/ }
  ]
  for (const r of refusals) {
    const res = await lienthong(r.args, env)
    t.match([res.code, res.stderr], [2, r.message], r.args.join(' '))
  }
  t.equal((await lienthong(['vdxp-system', 'remove', 'so.cli'], env)).code, 0)
  t.equal(await ask(rotated.stdout.trim()), '101', 'a removed system is refused')
})
