// Empties dist/ before a build: files of modules since removed or renamed in src/ (an old
// verifier, a renamed migration) must not stay behind and be loaded from there.
import { rmSync } from 'node:fs'

rmSync('dist', { recursive: true, force: true })
