// tap's `before` script (package.json): runs once before the test files of `npm test` or
// `npx tap <file>`: dist/ rebuilt when src/ changed (build-if-stale.js), then the embedded
// database template the tests start from (pglite-template.js).
/* c8 ignore start */
import './build-if-stale.js'
import { ensurePgliteTemplate } from './pglite-template.js'

await ensurePgliteTemplate()
/* c8 ignore stop */
