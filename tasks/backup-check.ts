import { checkBackups, checkPitr, listBackups, pitrConfigured } from '../src/index.js';
import { parseDuration } from '../src/config.js';
import { pitrSecrets } from '../src/pitr-settings.js';
import { command, parse, run, usageError, withBackupOptions } from './lib/cli.js';
import { age } from './lib/format/backup.js';
import { pitrInput, printCheck } from './lib/format/pitr.js';

const cli = withBackupOptions(command('backup:check', '[--max-age 26h] [--kind logical|pitr|all] [--max-wal-age 15m]', 'For monitoring: fail unless the newest verified backup, there at its recorded size, is younger than --max-age (a size check, not a hash); with physical backups set up, also the newest pitr backup and WAL archiving.'))
  .option('--max-age <duration>', 'e.g. 26h, 90m (default 26h)')
  .option('--kind <kind>', 'logical, pitr or all (default: each kind there is: pitr once set up, dumps unless there are none and pitr is set up)')
  .option('--max-wal-age <duration>', 'pitr: how long a WAL segment may wait to be archived (default 15m)')
  .option('--stanza <name>', "pitr: pgBackRest's name for this cluster (PITR_STANZA)")
  .option('--pitr-dir <dir>', "pitr: where pgBackRest's configuration is (PITR_DIR)");

/** Whether BACKUP_DIR holds a dump tidemark wrote; an unreadable directory counts, so that the logical check reports it. */
async function hasDumps(settings: Parameters<typeof listBackups>[0]): Promise<boolean> {
  return listBackups(settings).then((entries) => entries.some((e) => e.managed), () => true);
}

void run(async ({ out, backupSettings, settingsWithoutDatabase }) => {
  const { options } = parse(cli);
  const maxAgeMs = parseDuration(options.maxAge as string | undefined, 26 * 3_600_000, '--max-age');
  const kind = options.kind === undefined ? undefined : String(options.kind);
  if (kind !== undefined && !['logical', 'pitr', 'all'].includes(kind)) throw usageError('read --kind', `"${kind}" is not logical, pitr or all`);
  const settings = kind === 'logical' ? backupSettings(options, false) : settingsWithoutDatabase(options, pitrInput(options));
  out.hide(pitrSecrets(settings.pitr));
  const configured = pitrConfigured(settings.pitr);
  const physical = kind === 'pitr' || kind === 'all' || (kind === undefined && configured);
  // By default each kind this project has: dumps unless it has only physical backups (pitr set up, no dump written).
  const logical = kind === 'logical' || kind === 'all' || (kind === undefined && (!configured || await hasDumps(settings)));
  const result = logical ? await checkBackups(settings, maxAgeMs) : undefined;
  const pitr = physical ? await checkPitr(settings, { maxAgeMs, maxWalAgeMs: parseDuration(options.maxWalAge as string | undefined, 15 * 60_000, '--max-wal-age') }) : undefined;
  if (options.json) return out.json(pitr ? { ...result, pitr } : result);
  if (result) {
    for (const { file, problem } of result.passedOver) out.warn(`warning: passed over ${file}: ${problem}`);
    out.line(`OK: ${result.file} is ${age(result.ageMs)} old (limit ${age(result.maxAgeMs)})`);
  }
  if (pitr) printCheck(out, pitr);
});
