import { stopDevDatabase } from '../src/index.js';
import { command, parse, run } from './lib/cli.js';

const cli = command('db:stop', '', 'Stop the embedded development PostgreSQL; its data stays in .tidemark/.');

void run(async ({ out }) => {
  const { options } = parse(cli);
  const result = await stopDevDatabase();
  if (options.json) return out.json(result);
  out.line(result.stopped ? 'Stopped the embedded PostgreSQL.' : 'The embedded PostgreSQL was not running.');
});
