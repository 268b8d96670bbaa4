import path from 'node:path';
import { createBackfill } from '../src/index.js';
import { command, parse, run, usageError } from './lib/cli.js';

const cli = command('backfill:create', 'NAME', 'Create backfills/NAME.ts from the template (never over an existing file).')
  .option('--backfills-dir <dir>', 'where backfills live (BACKFILLS_DIR, default ./backfills)');

void run(async ({ out, settingsWithoutDatabase }) => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', args.length ? 'give the name as one argument (quote it, or use _)' : 'no backfill name given', 'task backfill:create -- fill_user_slugs');
  const dir = settingsWithoutDatabase(options, { backfillsDir: options.backfillsDir as string | undefined }).chores.backfillsDir;
  const created = await createBackfill(args[0], { dir });
  if (options.json) out.json(created);
  else out.line(path.relative(process.cwd(), created.path));
});
