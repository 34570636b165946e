import { Command, InvalidArgumentError } from 'commander'
import { loadConfig } from '../config/config.js'

const days = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number of days')
  return n
}

/** `lienthong retention run`: the retention job on demand (the worker runs it when configured). */
export function retentionCommand (): Command {
  const retention = new Command('retention').description('remove the signed bytes of finished documents past retention')
  retention.command('run')
    .description('run once now; evidence (digests, receipts, signature log) is kept')
    .option('--days <n>', 'retention period in days (default: LIENTHONG_RETENTION_DAYS)', days)
    .option('--dry-run', 'only count the documents that would lose their bytes')
    .action(async (options: { days?: number, dryRun?: boolean }) => {
      const config = loadConfig()
      const retentionDays = options.days ?? config.retentionDays
      if (retentionDays == null) throw new Error('no retention period: pass --days or set LIENTHONG_RETENTION_DAYS')
      const { removeExpiredContent } = await import('../retention/remove-expired-content.js')
      const { openHubDatabase } = await import('../hub/open-database.js')
      const db = await openHubDatabase(config.databaseUrl, config.dataDir)
      try {
        const n = await removeExpiredContent(db, { retentionDays, dryRun: options.dryRun === true })
        process.stdout.write(options.dryRun === true
          ? `${n} documents older than ${retentionDays} days would lose their signed bytes\n`
          : `removed the signed bytes of ${n} documents older than ${retentionDays} days\n`)
      } finally {
        await db.close()
      }
    })
  return retention
}
