import t from 'tap'
import { coalesceEnqueues } from '../../src/queue/enqueue-coalescer.js'

// Pure batching logic: the enqueue function is a recorder (the real one is DeliveryQueue.enqueue,
// covered by the delivery tests).

const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

const cases: Array<{ name: string, calls: string[][], maxBatch: number, batches: string[][] }> = [
  { name: 'calls of one turn go out as one batch', calls: [['a'], ['b', 'c'], ['d']], maxBatch: 500, batches: [['a', 'b', 'c', 'd']] },
  { name: 'a batch is cut at maxBatch', calls: [['a', 'b'], ['c', 'd'], ['e']], maxBatch: 4, batches: [['a', 'b', 'c', 'd'], ['e']] },
  { name: 'empty calls add nothing', calls: [[], ['a'], []], maxBatch: 500, batches: [['a']] }
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const batches: string[][] = []
    const enqueue = coalesceEnqueues<string>(async (items) => { batches.push([...items]) }, c.maxBatch)
    await Promise.all(c.calls.map(async (items) => await enqueue(items)))
    t.same(batches, c.batches)
  })
}

t.test('calls in different turns are separate batches', async (t) => {
  const batches: string[][] = []
  const enqueue = coalesceEnqueues<string>(async (items) => { batches.push([...items]) })
  await enqueue(['a'])
  await turn()
  await enqueue(['b'])
  t.same(batches, [['a'], ['b']])
})

t.test('a failed batch fails every caller in it, and only them', async (t) => {
  let calls = 0
  const enqueue = coalesceEnqueues<string>(async () => { calls++; if (calls === 1) throw new Error('Redis is not connected') })
  const first = await Promise.allSettled([enqueue(['a']), enqueue(['b'])])
  t.same(first.map((r) => r.status), ['rejected', 'rejected'])
  t.same(await Promise.allSettled([enqueue(['c'])]).then((r) => r.map((x) => x.status)), ['fulfilled'], 'the next batch goes out normally')
})
