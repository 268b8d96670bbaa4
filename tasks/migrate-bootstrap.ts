import { migrateBootstrap } from '../src/index.js';
import { invalidVersion } from '../src/migrate/commands/force.js';
import { parseVersionArgument } from '../src/migrate/source/parse.js';
import { command, parse, run, withDatabaseOptions } from './lib/cli.js';
import { versionText } from './lib/format/migrate.js';

const cli = withDatabaseOptions(command('migrate:bootstrap', '[--to V] [--force] [--dry-run]', 'Mark migrations as applied without running them, for a database built before migrations.'))
  .option('--to <version>', 'mark migrations up to this version only', { type: [String] })
  .option('--force', 'proceed although a version is already recorded')
  .option('--dry-run', 'list what would be marked and change nothing');

void run(async ({ out, settings }) => {
  const { options } = parse(cli);
  const toText = options.to === undefined ? undefined : String((options.to as string[]).at(-1));
  const to = toText === undefined ? undefined : parseVersionArgument(toText);
  if (toText !== undefined && to === undefined) throw invalidVersion('read --to', toText, 'a whole number from 0 to 9223372036854775807');
  const result = await migrateBootstrap(settings(options), { to, force: !!options.force, dryRun: !!options.dryRun });
  if (options.json) return out.json(result);
  for (const m of result.marked) out.line(`  ${result.dryRun ? 'would mark' : 'marked'} ${m.version} ${m.name} (${m.fileName})`);
  out.line(result.dryRun
    ? `Dry run: would set version ${versionText(result.version)} (${result.marked.length} migrations); nothing was changed.`
    : `Bootstrapped at version ${versionText(result.version)}: ${result.marked.length} migrations marked as applied, none run.`);
});
