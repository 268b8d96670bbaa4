import { startDevDatabase } from '../src/index.js';
import { command, parse, run } from './lib/cli.js';

const cli = command('db:start', '', 'Start the embedded development PostgreSQL 18 (data in .tidemark/, 127.0.0.1 only).');

void run(async ({ out }) => {
  const { options } = parse(cli);
  const status = await startDevDatabase();
  if (options.json) return out.json(status);
  out.line(`${status.initialised ? 'Created and started' : status.started ? 'Started' : 'Already running:'} embedded PostgreSQL on 127.0.0.1:${status.port}, database ${status.database}`);
  out.line(`URL: ${status.url} (password in .tidemark/password); use it with --embedded or TIDEMARK_EMBEDDED=1`);
});
