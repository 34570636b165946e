/** A piscina task of documents.ts `makeBatches`: signs one slice of a batch, returns the paths. */
import { signBatch, type SignWorkerTask } from './documents.js'

export default function signTask (task: SignWorkerTask): string[] {
  return signBatch(task.dir, task.label, task.targetBytes, task.numbers)
}
