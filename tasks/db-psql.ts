import { openPsql } from '../src/index.js';
import { command, parse, run, splitOwnFlags, withConnectionOptions } from './lib/cli.js';

const cli = withConnectionOptions(command('db:psql', '[PSQL_ARGS...]',
  'Open psql on the configured database, or inside PG_CONTAINER (docker exec). The password goes through the environment, never the command line. Arguments other than these options go to psql.'));

void run(async ({ settings }) => {
  const { own, rest } = splitOwnFlags(process.argv.slice(2), ['--embedded', '--json', '--help', '-h'], ['--env-file']);
  const { options } = parse(cli, own);
  // Ctrl-C belongs to psql (it cancels the running query); we wait for psql to end.
  process.on('SIGINT', () => undefined);
  // SIGTERM ends psql too; a second one leaves at once (exit listeners remove the passfile).
  const stop = new AbortController();
  process.on('SIGTERM', () => (stop.signal.aborted ? process.exit(143) : stop.abort('SIGTERM')));
  const tty = !!process.stdin.isTTY && !!process.stdout.isTTY;
  return openPsql(settings(options), { args: rest, stdio: 'inherit', tty, signal: stop.signal });
});
