import path from 'node:path';
import { createMigration } from '../src/index.js';
import { command, parse, run, usageError } from './lib/cli.js';

const cli = command('migrate:create', 'NAME [--timestamp]', 'Create NNNNNN_name.up.sql and .down.sql in the migrations directory.')
  .option('--dir <dir>', 'migrations directory (MIGRATIONS_DIR, default ./migrations)')
  .option('--timestamp', 'version YYYYMMDDHHMMSS (UTC) instead of the next number');

void run(async ({ out, settingsWithoutDatabase }) => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', args.length ? 'give the name as one argument (quote it, or use _)' : 'no migration name given', 'task migrate:create -- add_users');
  const { dir } = settingsWithoutDatabase(options).migrations;
  const created = await createMigration(args[0], { dir, timestamp: !!options.timestamp });
  if (options.json) out.json(created);
  else {
    out.line(path.relative(process.cwd(), created.upPath));
    out.line(path.relative(process.cwd(), created.downPath));
  }
});
