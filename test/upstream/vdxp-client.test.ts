import t from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { VdxpUpstreamClient } from '../../src/upstream/vdxp-client.js'
import { classifyVdxpFailure, UpstreamCallError } from '../../src/upstream/upstream-errors.js'

t.test('signed headers reproduce the protocol\'s test vector (order, JSON, HMAC)', async (t) => {
  // shared/vdxp-protocol.md §2: secret MadeUpSecret/Key+123=, timestamp 25112026T192029+0005.
  const at = new Date(2026, 10, 25, 19, 20, 29, 5)
  const client = new VdxpUpstreamClient({ id: 'x', endpoint: 'http://127.0.0.1:1', systemId: 'test.system.01', secret: 'MadeUpSecret/Key+123=' }, { now: () => at })
  const headers = client.signedHeaders({ servicetype: 'eDoc', messagetype: 'edoc' }, 'application/json')
  t.equal(headers['XroadVnpt-sign-header'], '{"XroadVnpt-systemid":"test.system.01","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"25112026T192029+0005","XroadVnpt-Content-Type":"application/json"}')
  t.equal(headers['XroadVnpt-sign-header-key'], 'systemid;servicetype;messagetype;timestamp;Content-Type')
  t.equal(headers['XroadVnpt-hash-header'], '213788877bfb569f5aa810310087e88cc54c5529c22ba8ff5a38be7222b6ea86')
  // The captured sendEdoc order (§3): systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type
  const send = client.signedHeaders({ from: '000.00.00.H00', servicetype: 'eDoc', messagetype: 'edoc', 'hash-file': 'ab' }, 'application/octet-stream')
  t.equal(send['XroadVnpt-sign-header-key'], 'systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type')
})

t.test('failures are classified retryable or permanent', async (t) => {
  const cases: Array<[string, number, boolean, string]> = [
    ['101', 401, true, 'authentication: an operator fixes the secret within the window'],
    ['113', 503, true, 'busy'],
    ['115', 503, true, 'unavailable'],
    ['116', 500, true, 'internal'],
    ['112', 429, true, 'rate limited'],
    ['222', 422, false, 'the document\'s digest: repeating cannot help'],
    ['107', 422, false, 'no recipient known upstream'],
    ['302', 403, false, 'sender not served by our system'],
    ['999', 502, true, 'an unknown code with a 5xx status'],
    ['999', 200, false, 'an unknown code with 200']
  ]
  for (const [code, status, retryable, why] of cases) t.equal(classifyVdxpFailure(code, status).retryable, retryable, `${code}/${status}: ${why}`)
})

t.test('answers that are not VDXP, timeouts and bad data', async (t) => {
  let mode = 'html502'
  const server = createServer((req: IncomingMessage, res) => {
    req.resume()
    req.on('end', () => {
      if (mode === 'html502') { res.writeHead(502).end('<html>Bad gateway</html>'); return }
      if (mode === 'html404') { res.writeHead(404).end('Not found'); return }
      if (mode === 'hang') return
      if (mode === 'garbage') { res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"OK","ErrorCode":"0","ErrorDesc":"x","data":"%%%not base64"}'); return }
      if (mode === 'nodocid') { res.writeHead(200).end('{"status":"OK","ErrorCode":"0","ErrorDesc":"x"}'); return }
      res.writeHead(200).end('{"status":"FAIL","ErrorCode":"222","ErrorDesc":"digest"}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vdxp`
  // Only the hanging server meets the short timeout: on a loaded machine the others answer late.
  const client = new VdxpUpstreamClient({ id: 'x', endpoint, systemId: 's', secret: 'k' }, { timeoutMs: 20_000 })
  const impatient = new VdxpUpstreamClient({ id: 'x', endpoint, systemId: 's', secret: 'k' }, { timeoutMs: 300 })
  const cases: Array<[string, () => Promise<unknown>, boolean, RegExp]> = [
    ['html502', async () => await client.receivedList('edoc'), true, /HTTP 502: not a VDXP answer/],
    ['html404', async () => await client.receivedList('edoc'), false, /HTTP 404: not a VDXP answer/],
    ['hang', async () => await impatient.updateStatus('1', 'done'), true, /timed out after 300 ms/],
    ['garbage', async () => await client.getEdoc('1'), false, /data is not base64/],
    ['nodocid', async () => await client.sendEdoc(Buffer.from('<x/>'), { from: 'A', messagetype: 'edoc' }), true, /without a DocId/],
    ['fail222', async () => await client.sendEdoc(Buffer.from('<x/>'), { from: 'A', messagetype: 'edoc' }), false, /ErrorCode 222/]
  ]
  for (const [m, call, retryable, message] of cases) {
    mode = m
    const err = await call().then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof UpstreamCallError, `${m}: an UpstreamCallError`)
    t.match(err, { retryable, message }, m)
  }
  const closed = new VdxpUpstreamClient({ id: 'x', endpoint: 'http://127.0.0.1:1/vdxp', systemId: 's', secret: 'k' })
  t.match(await closed.receivedList('edoc').catch((e: unknown) => e), { retryable: true, message: /ECONNREFUSED/ }, 'connection refused: retryable')
})
