/** A piscina task of documents.ts `Signer`: signs one slice of documents, returns their XML. */
import { signDocuments, type SignTask } from './documents.js'

export default function signTask (task: SignTask): string[] {
  return signDocuments(task)
}
