/** A setup problem the operator fixes (hub not running, wrong data dir, port taken): one message, exit 2. */
export class DemoSetupError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DemoSetupError'
  }
}
