import { checkBackups } from '../src/index.js';
import { parseDuration } from '../src/config.js';
import { command, parse, run, withBackupOptions } from './lib/cli.js';
import { age } from './lib/format/backup.js';

const cli = withBackupOptions(command('backup:check', '[--max-age 26h]', 'For monitoring: fail unless the newest verified backup, there at its recorded size, is younger than --max-age (a size check, not a hash).'))
  .option('--max-age <duration>', 'e.g. 26h, 90m (default 26h)');

void run(async ({ out, backupSettings }) => {
  const { options } = parse(cli);
  const maxAgeMs = parseDuration(options.maxAge as string | undefined, 26 * 3_600_000, '--max-age');
  const result = await checkBackups(backupSettings(options, false), maxAgeMs);
  if (options.json) return out.json(result);
  for (const { file, problem } of result.passedOver) out.warn(`warning: passed over ${file}: ${problem}`);
  out.line(`OK: ${result.file} is ${age(result.ageMs)} old (limit ${age(result.maxAgeMs)})`);
});
