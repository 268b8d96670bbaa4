import { readSchema } from '../src/index.js';
import { command, parse, run, usageError, withConnectionOptions } from './lib/cli.js';
import { printSchema } from './lib/format/verify.js';

const cli = withConnectionOptions(command('db:schema', '[--json] [--owners]', 'Print the schema fingerprint of the database: one object per line, and its SHA-256.'))
  .option('--table <name>', 'version table left out, [schema.]name (MIGRATIONS_TABLE, default schema_migrations)')
  .option('--owners', 'include object owners');

void run(async ({ out, settings }) => {
  const { args, options } = parse(cli);
  if (args.length) throw usageError('read the command line', `unexpected argument ${args[0]}`);
  const fingerprint = await readSchema(settings(options), { owners: !!options.owners });
  if (options.json) out.json(fingerprint);
  else printSchema(out, fingerprint);
});
