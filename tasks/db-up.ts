import { startDevDatabase, migrate, migrateStatus } from '../src/index.js';
import { command, parse, run, withDatabaseOptions } from './lib/cli.js';
import { printEvent, printStatus, printUpSummary } from './lib/format/migrate.js';

const cli = withDatabaseOptions(command('db:up', '', 'Start the embedded PostgreSQL 18, apply the migrations and report the status.'));

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const db = await startDevDatabase();
  out.line(`Embedded PostgreSQL ${db.started ? 'started' : 'already running'} on 127.0.0.1:${db.port} (database ${db.database})`);
  const config = settings({ ...options, embedded: true });
  printUpSummary(out, await migrate(config, { onEvent: (event) => printEvent(out, event) }));
  out.line();
  printStatus(out, await migrateStatus(config));
});
