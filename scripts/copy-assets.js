// Copies the non-TypeScript files the compiled code loads at run time (SQL migrations) into dist/.
import { cpSync } from 'node:fs'

cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true })
