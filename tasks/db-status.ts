import { devDatabaseStatus } from '../src/index.js';
import { command, parse, run } from './lib/cli.js';

const cli = command('db:status', '[--json]', 'Is the embedded development PostgreSQL created and running?');

void run(async ({ out }) => {
  const { options } = parse(cli);
  const status = await devDatabaseStatus();
  if (options.json) return out.json(status);
  if (!status.created) return out.hint('Not created: run `task db:start`.');
  out.line(`${status.running ? 'Running' : 'Stopped'}: 127.0.0.1:${status.port}, database ${status.database}, data in ${status.dataDir}`);
  out.line(`URL: ${status.url}`);
});
