// The demo agency registry (registry.json), in the project's documented format.
import type { DemoAgency, DemoDelivery } from './agencies.js'

export interface RegistryAgencyEntry {
  code: string
  name: string
  certificates: string[]
  subjectRule?: Record<string, string>
  allowWeakAlgorithms: boolean
  delivery: DemoDelivery
}

export interface RegistryFile {
  version: 1
  agencies: RegistryAgencyEntry[]
}

/**
 * @param fingerprints registered certificate fingerprints per agency code (lowercase hex SHA-256)
 */
export function buildRegistry (agencies: readonly DemoAgency[], fingerprints: ReadonlyMap<string, string[]>): RegistryFile {
  return {
    version: 1,
    // Key order as in the documented format.
    agencies: agencies.map((a) => ({
      code: a.code,
      name: a.name,
      certificates: [...(fingerprints.get(a.code) ?? [])],
      ...(a.bindBySubjectRule ? { subjectRule: { UID: a.code } } : {}),
      allowWeakAlgorithms: a.allowWeakAlgorithms,
      delivery: a.delivery
    }))
  }
}
