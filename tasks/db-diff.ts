import { diffSchemas, parseDatabaseUrl } from '../src/index.js';
import { urlSecrets } from '../src/connection-string.js';
import { command, parse, run, usageError } from './lib/cli.js';
import { printDiff } from './lib/format/verify.js';

const cli = command('db:diff', 'URL_A URL_B [--json] [--owners]', 'Compare the schemas of two databases; exit 1 when they differ.')
  .option('--table <name>', 'version table left out, [schema.]name (MIGRATIONS_TABLE, default schema_migrations)')
  .option('--owners', 'compare object owners too');

void run(async ({ out, settingsWithoutDatabase }) => {
  const { args, options } = parse(cli);
  for (const url of args) out.hide(urlSecrets(url));
  if (args.length !== 2) throw usageError('read the command line', `give two database URLs, not ${args.length}`, 'task db:diff -- postgres://…/app_a postgres://…/app_b');
  const loaded = settingsWithoutDatabase(options);
  const [a, b] = args.map((url) => parseDatabaseUrl(url, { connectTimeoutMs: loaded.database?.connectTimeoutMs }));
  const report = await diffSchemas(a, b, loaded.migrations.table, { owners: !!options.owners });
  if (options.json) out.json(report);
  else printDiff(out, report);
  return report.same ? 0 : 1;
});
