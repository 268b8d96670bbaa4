import { lintFailedError, lintMigrations } from '../src/index.js';
import { command, parse, rawValues, run, usageError, withDatabaseOptions } from './lib/cli.js';
import { printGithub, printLintReport } from './lib/format/lint.js';
import { interruptOnSignals } from './lib/signals.js';

const cli = withDatabaseOptions(command('migrate:lint', '[FILE...] [--all] [--trace] [--pg-version N] [--format text|json|github]',
  'Name the locks, rewrites and scans the migrations would cause, and the safe way.'))
  .option('--all', 'lint every up migration, not only the pending ones')
  .option('--pg-version <n>', 'the PostgreSQL major version when no database is reachable (TIDEMARK_LINT_PG_VERSION, default 18)')
  .option('--offline', 'do not connect, even when a database is configured')
  .option('--format <format>', 'text (default), json, or github (workflow-command annotations)')
  .option('--trace', 'also run them on a scratch database of the server and check each finding against what it did')
  .option('--config <file>', 'the lint configuration (TIDEMARK_LINT_CONFIG, default tidemark.lint.json when present)');

const FORMATS = ['text', 'json', 'github'];
const LONG_RUN_FILES = 500;

const json = process.argv.includes('--json') || rawValues('--format').at(-1) === 'json';

void run(async ({ out, settingsWithoutDatabase }) => {
  const { args, options } = parse(cli);
  const format = json ? 'json' : String(options.format ?? 'text');
  if (!FORMATS.includes(format)) throw usageError('read --format', `"${format}" is not a format`, 'use text, json or github');
  const settings = settingsWithoutDatabase(options, { lint: true, lintConfig: options.config as string | undefined, lintPgVersion: rawValues('--pg-version').at(-1) });
  const { signal } = interruptOnSignals(out, { stopping: 'stopping the lint (it changes nothing)' });
  // A long lint says it has started (on stderr: the report stays clean).
  const onStart = ({ files, scope, pgVersion }: { files: number; scope: string; pgVersion: number }) => {
    if (files >= LONG_RUN_FILES) out.warn(`linting ${files} files (${scope}) for PostgreSQL ${pgVersion}`);
  };
  const report = await lintMigrations(settings, { files: args, all: !!options.all, offline: !!options.offline, trace: !!options.trace, signal, onStart });
  if (format === 'json') out.json(report);
  else if (format === 'github') printGithub(out, report);
  else printLintReport(out, report);
  if (report.counts.error) throw lintFailedError(report);
}, json);
