import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TrustStore } from '../../src/pki/trust-store.js'
import { PKI } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'
import { seedDocument } from '../console/seed.js'

// The admin-audit row of a change is written inside the change's transaction: when the audit row
// cannot be written (here a trigger refuses it), the change is rolled back with it. Were the row
// written after the commit, the change would stay, unrecorded, and these cases would fail.
const A = '000.00.00.G22'
const B = '000.00.00.H41'

t.test('a change whose audit row fails is not made', async (t) => {
  const store = await TrustStore.load(join(PKI, 'trust'))
  const hub = await testHub(t, { redisUrl: null, trustStore: () => store })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const clerk = await testUser(hub.db, 'clerk.a', 'clerk', A)
  await hub.db.query(`CREATE FUNCTION refuse_audit () RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.action IN ('delivery.resend', 'trust.crl_import') THEN RAISE EXCEPTION 'audit store refused %', NEW.action; END IF; RETURN NEW; END $$`)
  await hub.db.query('CREATE TRIGGER refuse_audit BEFORE INSERT ON admin_audit FOR EACH ROW EXECUTE FUNCTION refuse_audit()')
  const doc = await seedDocument(hub.db, { sender: A, number: '5', notation: 'VP', subject: 'x', recipients: [{ code: B, state: 'failed', lastError: 'HTTP 400' }] })
  const crl = await readFile(join(PKI, 'trust', 'issuing-ca.crl.pem'), 'latin1')
  const cases: Array<{ name: string, run: () => Promise<number>, unchanged: () => Promise<unknown>, before: unknown }> = [
    {
      name: 'resend (API)',
      run: async () => (await hub.app.inject({ method: 'POST', url: `/api/deliveries/${doc.deliveries[B] as string}/resend`, headers: { authorization: `Bearer ${clerk.token}` } })).statusCode,
      unchanged: async () => (await hub.db.query('SELECT state, (SELECT count(*)::int FROM delivery_events e WHERE e.delivery_id = d.id) AS events FROM deliveries d WHERE id = $1', [doc.deliveries[B]])).rows[0],
      before: { state: 'failed', events: 0 }
    },
    {
      name: 'CRL import',
      run: async () => (await hub.app.inject({ method: 'POST', url: '/api/admin/trust/crls', headers: { authorization: `Bearer ${admin.token}` }, payload: { pem: crl } })).statusCode,
      unchanged: async () => (await hub.db.query('SELECT count(*)::int AS n FROM crls')).rows[0],
      before: { n: 0 }
    }
  ]
  for (const c of cases) {
    t.same(await c.unchanged(), c.before, `${c.name}: before`)
    t.equal(await c.run(), 500, `${c.name}: the failed audit row fails the request`)
    t.same(await c.unchanged(), c.before, `${c.name}: and the change was rolled back with it`)
  }
  await hub.db.query('DROP TRIGGER refuse_audit ON admin_audit')
  for (const c of cases) t.equal(await c.run(), 200, `${c.name}: with the audit store working, the change is made`)
  const { rows } = await hub.db.query<{ action: string }>("SELECT action FROM admin_audit WHERE action IN ('delivery.resend', 'trust.crl_import') ORDER BY id")
  t.same(rows.map((r) => r.action), ['delivery.resend', 'trust.crl_import'], 'each with its one audit row')
})
