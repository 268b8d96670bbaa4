import { rowObjects, runQuery } from '../src/index.js';
import { command, parse, run, usageError, withConnectionOptions } from './lib/cli.js';
import { printQueryCsv, printQueryTable } from './lib/format/chores.js';
import { interruptOnSignals } from './lib/signals.js';

const cli = withConnectionOptions(command('db:query', 'SQL [--json | --csv] [--write]',
  'Run one SQL statement and print its result. Without --write, only a read-only query runs\n'
  + '(SELECT, WITH … SELECT, VALUES, TABLE, SHOW, EXPLAIN), in a read-only transaction.'))
  .option('--csv', 'print the rows as CSV, with a header line')
  .option('--write', 'run the statement as it is, so that it may change data (outside the read-only checks and transaction)');

void run(async ({ out, settings }) => {
  const { args, options } = parse(cli);
  if (args.length !== 1) {
    const cause = args.length ? 'give the SQL as one argument (quote it)' : 'no SQL given';
    throw usageError('read the command line', cause, 'task db:query -- "SELECT count(*) FROM users"');
  }
  if (options.json && options.csv) throw usageError('read the command line', '--json and --csv exclude each other');
  const write = !!options.write;
  const interrupts = interruptOnSignals(out, { stopping: 'cancelling the statement on the server' });
  interrupts.onSecond(() => (write
    ? 'the cancel request was sent, but if the statement completes all the same, its change is committed: check the data'
    : 'the statement runs in a read-only transaction: nothing was changed'));
  const result = await runQuery(settings(options), args[0], { write, signal: interrupts.signal });
  const columns = result.columns.map((c) => c.name);
  if (options.json) out.json({ command: result.command, rowCount: result.rowCount, columns, rows: rowObjects(result) });
  else if (options.csv) printQueryCsv(out, result);
  else printQueryTable(out, result);
  // Too late to cancel: the result stands, and it is not an error.
  if (interrupts.signal.aborted) out.warn(`the statement had already completed${write ? ' (its change is committed)' : ''}; nothing was cancelled`);
});
