// Copies the non-TypeScript files the compiled code loads at run time (SQL migrations) into dist/.
// The target is replaced, not merged: a migration renamed or removed in src/ must not linger in
// dist/ and be applied from there.
import { cpSync, rmSync } from 'node:fs'

rmSync('dist/db/migrations', { recursive: true, force: true })
cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true })
