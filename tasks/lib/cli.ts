/**
 * What every task script shares: argument parsing with cac, configuration,
 * printing (with secrets masked) and turning errors into exit codes. The only
 * place, with the scripts themselves, that touches argv, the console and exit codes.
 */
import { Writable } from 'node:stream';
import cac, { type CAC } from 'cac';
import { settingsFrom, readEnvironment, type ConfigInput, type Settings, type SettingsWithoutDatabase } from '../../src/config.js';
import type { BackupSettings } from '../../src/backup/config.js';
import { TidemarkError, formatError, isTidemarkError } from '../../src/errors.js';
import { maskSecrets, urlSecrets } from '../../src/connection-string.js';
import { toJson } from './json.js';
import { isConnectionLost } from '../../src/db/connect.js';
import { describePgError } from '../../src/pg-errors.js';
import { asTyped, callerFrom, invocation } from './caller.js';
import { Question, askingQuestion } from './confirm.js';

export type Options = Record<string, unknown> & { json?: boolean; envFile?: string; dir?: string; table?: string; lockTimeout?: string; embedded?: boolean };

/** What a command prints: every text passes through the mask of the secrets this run has met. */
export interface Output {
  line(text?: string): void;
  /** A line that names other targets (`run task db:start`), written as the user calls them. */
  hint(text: string): void;
  json(value: unknown): void;
  warn(text: string): void;
  /** Text as it is, without a newline (a progress bar redrawn in place). */
  write(text: string): void;
  /** Texts to mask in everything printed from now on. */
  hide(secrets: Iterable<string>): void;
}

/**
 * One output per run: the secrets it masks belong to that run alone. Messages
 * (stderr) and hints name targets as the user calls them (`typed`).
 */
export function createOutput(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr, typed = (text: string) => text): Output {
  const secrets: string[] = [];
  const masked = (text: string) => maskSecrets(text, secrets);
  return {
    line: (text = '') => void stdout.write(`${masked(text)}\n`),
    hint: (text) => void stdout.write(`${masked(typed(text))}\n`),
    json: (value) => void stdout.write(`${masked(toJson(value))}\n`),
    warn: (text) => void stderr.write(`${masked(typed(text))}\n`),
    write: (text) => void stdout.write(masked(text)),
    hide: (more) => void secrets.push(...[...more].filter(Boolean)),
  };
}

/**
 * A cac program for one target, with the options every database command takes.
 * `usage` is what follows the target's name: cac puts the name (as the user calls it) first.
 */
export function command(name: string, usage: string, describe: string): CAC {
  const caller = callerFrom();
  const cli = cac(invocation(caller, name));
  cli.usage(asTyped(caller, `${usage}\n\n${describe}`));
  cli.option('--json', 'print the result (or error) as JSON');
  cli.option('--env-file <file>', 'read variables from this dotenv file instead of .env');
  // cac heads the help with the program's name: the target as typed, without go-task's `--` that opens the arguments.
  cli.help((sections) => [{ body: invocation(caller, name).replace(/ --$/, '') }, ...sections.slice(1)]);
  return cli;
}

export function withDatabaseOptions(cli: CAC): CAC {
  return cli
    .option('--dir <dir>', 'migrations directory (MIGRATIONS_DIR, default ./migrations)')
    .option('--table <name>', 'version table, [schema.]name (MIGRATIONS_TABLE, default schema_migrations)')
    .option('--lock-timeout <duration>', 'how long to wait for the migration lock: 30s, 2m (TIDEMARK_LOCK_TIMEOUT, default 15s)')
    .option('--embedded', 'use the embedded development database (TIDEMARK_EMBEDDED=1)');
}

/** For commands that only connect: the database, without the migration options. */
export function withConnectionOptions(cli: CAC): CAC {
  return cli.option('--embedded', 'use the embedded development database (TIDEMARK_EMBEDDED=1)');
}

export interface Parsed {
  args: string[];
  options: Options;
}

/** Parses argv; a bare negative number (`-1`) is an argument, not a flag. */
export function parse(cli: CAC, argv = process.argv.slice(2)): Parsed {
  const negative = argv.filter((a) => /^-\d+$/.test(a));
  const rest = argv.filter((a) => !/^-\d+$/.test(a));
  // Asked only whether to confirm, a command prints no help.
  if (askingQuestion() && rest.some((a) => a === '--help' || a === '-h')) throw new Question();
  const parsed = cli.parse(['node', 'tidemark', ...rest], { run: false });
  if (parsed.options.help) process.exit(0);
  cli.globalCommand.checkUnknownOptions();
  cli.globalCommand.checkOptionValue();
  // After a bare `--` everything is an argument (`tidemark migrate:lint -- -odd-name.sql`), as go-task passes it.
  const afterDashes = ((parsed.options['--'] as unknown[] | undefined) ?? []).map(String);
  return { args: [...parsed.args.map(String), ...afterDashes, ...negative], options: parsed.options as Options };
}

/**
 * A flag's values exactly as typed, in order (cac turns `16.10` into the
 * number 16.1): `--flag value` and `--flag=value`, up to a bare `--`.
 */
export function rawValues(flag: string, argv = process.argv.slice(2)): string[] {
  const values: string[] = [];
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === flag) values.push(i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[++i] : '');
    else if (argv[i].startsWith(`${flag}=`)) values.push(argv[i].slice(flag.length + 1));
  }
  return values;
}

/** A repeatable flag whose values may also be comma-separated: `--extension a --extension b,c`. */
export function listValues(flag: string, argv = process.argv.slice(2)): string[] | undefined {
  const values = rawValues(flag, argv);
  return values.length ? values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean) : undefined;
}

/**
 * Splits argv for a command that passes on what is not its own (db:psql):
 * the given flags (with their values, `valued` ones) stay, everything else,
 * and all after a bare `--`, goes on.
 */
export function splitOwnFlags(argv: string[], flags: string[], valued: string[]): { own: string[]; rest: string[] } {
  const own: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].split('=')[0];
    if (argv[i] === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (valued.includes(name)) own.push(...(argv[i].includes('=') ? [argv[i]] : argv.slice(i, ++i + 1)));
    else if (flags.includes(argv[i])) own.push(argv[i]);
    else rest.push(argv[i]);
  }
  return { own, rest };
}

/** What the flags of a command say, as the loader's input; `extra` adds a command's own. */
function configInput(options: Options, extra: ConfigInput): ConfigInput {
  return {
    envFile: options.envFile,
    migrationsDir: options.dir,
    migrationsTable: options.table,
    lockTimeout: options.lockTimeout,
    embedded: options.embedded,
    backupDir: options.backupDir as string | undefined,
    // The process exits when the command is done: no need to wait for each connection to wind down.
    waitForClose: false,
    ...extra,
  };
}

/**
 * The settings of a command: the environment (and `.env`) read once, its
 * DATABASE_URL's password given to the output to mask before anything can fail.
 */
function loadFromFlags(out: Output, input: ConfigInput): SettingsWithoutDatabase {
  const env = readEnvironment(input);
  out.hide(urlSecrets(env.DATABASE_URL));
  const loaded = settingsFrom(input, env);
  if (loaded.database?.password) out.hide([loaded.database.password]);
  return loaded;
}

/** What the body of a command gets: its output and the settings loaders that feed the output's mask. */
export interface CommandRun {
  out: Output;
  settings(options: Options, extra?: ConfigInput): Settings;
  /** Settings for a command that may need no database (backup:list, migrate:create). */
  settingsWithoutDatabase(options: Options, extra?: ConfigInput): SettingsWithoutDatabase;
  backupSettings(options: Options, requireDatabase?: boolean): BackupSettings;
}

function commandRun(out: Output): CommandRun {
  const settings = (options: Options, extra: ConfigInput = {}) =>
    loadFromFlags(out, { ...configInput(options, extra), requireDatabase: true }) as Settings;
  const settingsWithoutDatabase = (options: Options, extra: ConfigInput = {}) =>
    loadFromFlags(out, { ...configInput(options, extra), requireDatabase: false });
  return {
    out,
    settings,
    settingsWithoutDatabase,
    backupSettings: (options, requireDatabase = true) => (requireDatabase ? settings(options) : settingsWithoutDatabase(options)),
  };
}

export function withBackupOptions(cli: CAC): CAC {
  return cli
    .option('--backup-dir <dir>', 'backup directory (BACKUP_DIR, default ./backups)')
    .option('--embedded', 'use the embedded development database (TIDEMARK_EMBEDDED=1)');
}

export function usageError(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('INVALID_ARGUMENT', 'invalid arguments', { operation, cause, hint });
}

/** A whole number ≥ min from a flag, or a usage error naming the flag. */
export function intOption(value: unknown, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const text = String(Array.isArray(value) ? value.at(-1) : value);
  if (!/^-?\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw usageError(`read ${flag}`, `"${text}" is not a whole number of at least ${min}`);
  }
  return Number(text);
}

/** Errors of an output whose reader went away (`task migrate:status | head`). */
const READER_GONE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/**
 * Runs the body; expected failures print as `CODE: message` with operation and
 * cause (or one JSON object) and set the exit code, without a stack trace.
 * When the body is done the process exits as soon as its output is flushed,
 * without waiting for database connections to wind down.
 */
export async function run(body: (command: CommandRun) => Promise<number | void>, json = process.argv.includes('--json')): Promise<void> {
  if (askingQuestion()) return askOnly(body);
  const caller = callerFrom();
  const out = createOutput(process.stdout, process.stderr, (text) => asTyped(caller, text));
  // A closed pipe ends the output, not the work: a migration under way finishes and the command keeps its exit code.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (!READER_GONE.has(err.code ?? '')) throw err;
    });
  }
  try {
    const code = await body(commandRun(out));
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    const error = asTidemarkError(err);
    if (!error) throw err;
    if (json) out.warn(toJson({ error: error.toJSON() }));
    else out.warn(formatError(error));
    process.exitCode = error.exitCode;
  }
  await exitFlushed();
}

async function exitFlushed(): Promise<never> {
  await flushed(process.stdout);
  await flushed(process.stderr);
  process.exit();
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

function asTidemarkError(err: unknown): TidemarkError | undefined {
  if (isTidemarkError(err)) return err;
  if (err instanceof Error && err.name === 'CACError') return usageError('read the command line', err.message, 'run with --help for the options');
  // A server that went away is an expected failure wherever it happens, never a stack trace.
  if (isConnectionLost(err)) {
    return new TidemarkError('CONNECTION_LOST', 'the connection to the server was lost', {
      operation: 'talk to the server', cause: describePgError(err), hint: 'run the command again once the server is back',
    }, { cause: err });
  }
  return undefined;
}

/** Question mode (see confirm.ts): the body runs with its output discarded, up to its confirmation. */
async function askOnly(body: (command: CommandRun) => Promise<number | void>): Promise<void> {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  try {
    await body(commandRun(createOutput(discard, discard)));
  } catch (err) {
    // Any other failure is for the real run to report: no question, so that it runs.
    if (err instanceof Question && err.text) process.stdout.write(`${err.text}\n`);
  }
  await exitFlushed();
}
