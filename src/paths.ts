import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

/** The package root (works from src/ and dist/ alike). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../', import.meta.url))

/** The demo trust store and registry shipped in certs-example/ (never for production). */
export const DEMO_TRUST_DIR = join(PACKAGE_ROOT, 'certs-example', 'trust')
export const DEMO_REGISTRY = join(PACKAGE_ROOT, 'certs-example', 'registry.json')
