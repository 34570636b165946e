/** One signing task of documents.ts `makeBatches`, in a worker thread: signs, posts back the paths. */
import { parentPort, workerData } from 'node:worker_threads'
import { signBatch, type SignWorkerTask } from './documents.js'

const task = workerData as SignWorkerTask
parentPort?.postMessage(signBatch(task.dir, task.label, task.targetBytes, task.numbers))
