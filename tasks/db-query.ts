import { rowObjects, runQuery } from '../src/chores/query.js';
import { command, out, parse, run, settings, usageError, withConnectionOptions } from './lib/cli.js';
import { printQueryCsv, printQueryTable } from './lib/chores-format.js';

const cli = withConnectionOptions(command('db:query', 'db:query SQL [--json | --csv] [--write]',
  'Run one SQL statement and print its result. Read-only (in a read-only transaction) unless --write.'))
  .option('--csv', 'print the rows as CSV, with a header line')
  .option('--write', 'allow the statement to change data (runs outside the read-only transaction)');

void run(async () => {
  const { args, options } = parse(cli);
  if (args.length !== 1) throw usageError('read the command line', args.length ? 'give the SQL as one argument (quote it)' : 'no SQL given', 'task db:query -- "SELECT count(*) FROM users"');
  if (options.json && options.csv) throw usageError('read the command line', '--json and --csv exclude each other');
  const result = await runQuery(settings(options), args[0], { write: !!options.write });
  if (options.json) out.json({ command: result.command, rowCount: result.rowCount, columns: result.columns.map((c) => c.name), rows: rowObjects(result) });
  else if (options.csv) printQueryCsv(result);
  else printQueryTable(result);
});
