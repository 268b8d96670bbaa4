import { listBackfills } from '../src/index.js';
import { command, parse, run, withConnectionOptions } from './lib/cli.js';
import { printBackfillList } from './lib/format/backfill.js';

const cli = withConnectionOptions(command('backfill:list', '[--json]', 'The backfills, each with its description and last run. Exits 1 if one cannot be loaded.'))
  .option('--backfills-dir <dir>', 'where backfills live (BACKFILLS_DIR, default ./backfills)');

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const list = await listBackfills(settings(options, { backfillsDir: options.backfillsDir as string | undefined }));
  if (options.json) out.json(list);
  else printBackfillList(out, list);
  if (list.backfills.some((b) => b.error)) return 1;
});
