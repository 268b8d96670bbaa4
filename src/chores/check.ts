import { closeConnection } from '../connection-close.js';
import pg from 'pg';
import { parseServerVersion, type ServerVersion, type Settings } from '../config.js';
import { describeCause } from '../errors.js';
import { migrateStatus } from '../migrate/commands/status.js';
import { connectWithWait } from './connect.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

/** One line of the checklist: what was checked, what was found, and what to do when it failed. */
export interface CheckLine {
  check: 'connection' | 'server-version' | 'extension' | 'privileges' | 'migrations';
  label: string;
  status: CheckStatus;
  detail: string;
  remedy?: string;
}

export interface CheckReport {
  database: string;
  ok: boolean;
  failed: number;
  checks: CheckLine[];
}

export interface CheckOptions {
  /** Retry the connection until `timeoutMs` (dbmate's `wait`). */
  wait?: boolean;
  /** Default 60 s: the bound of the wait, or of the one attempt without it. */
  timeoutMs?: number;
  /** Replaces the configured list (TIDEMARK_REQUIRED_EXTENSIONS). */
  extensions?: string[];
  /** Replaces the configured minimum (TIDEMARK_MIN_PG_VERSION): `18`, `16.4`. */
  minServerVersion?: string;
  onRetry?: (reason: string, attempt: number) => void;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 60_000;

const { escapeIdentifier } = pg;
const sqlName = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : escapeIdentifier(name));

/** The readiness checklist (`task db:check`). Reads only; a failed line is data, not an exception. */
export async function checkDatabase(settings: Settings, options: CheckOptions = {}): Promise<CheckReport> {
  const extensions = options.extensions ?? settings.chores.requiredExtensions;
  const minimum = options.minServerVersion !== undefined ? parseServerVersion(options.minServerVersion, '--min-version') : settings.chores.minServerVersion;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const connected = await connectWithWait(settings, { wait: !!options.wait, timeoutMs, onRetry: options.onRetry });
  const lines: CheckLine[] = [connectionLine(connected, settings, !!options.wait)];
  if (!connected.ok) {
    lines.push(...skipped(extensions));
    return report(settings, lines);
  }
  try {
    lines.push(await checkServerVersion(connected.client, minimum));
    lines.push(...(await checkExtensions(connected.client, extensions)));
    lines.push(await checkPrivileges(connected.client));
  } finally {
    await closeConnection(connected.client);
  }
  lines.push(await checkMigrations(settings));
  return report(settings, lines);
}

function report(settings: Settings, checks: CheckLine[]): CheckReport {
  const failed = checks.filter((c) => c.status === 'fail').length;
  return { database: settings.database.redacted, ok: failed === 0, failed, checks };
}

function connectionLine(connected: Awaited<ReturnType<typeof connectWithWait>>, settings: Settings, waited: boolean): CheckLine {
  const tries = connected.attempts > 1 ? `, ${connected.attempts} attempts` : '';
  const seconds = connected.elapsedMs < 1000 ? `${connected.elapsedMs} ms` : `${(connected.elapsedMs / 1000).toFixed(1)} s`;
  if (connected.ok) return { check: 'connection', label: 'connection', status: 'pass', detail: `connected as ${settings.database.user || 'the default user'} in ${seconds}${tries}` };
  const gaveUp = waited && connected.retryable ? `gave up after ${seconds}${tries}: ` : '';
  const remedy = connected.retryable
    ? 'start the server or fix the host and port in DATABASE_URL; --wait --timeout 60s retries while it starts'
    : 'check the user, password and database name in DATABASE_URL';
  return { check: 'connection', label: 'connection', status: 'fail', detail: `${gaveUp}${connected.reason}`, remedy };
}

function skipped(extensions: string[]): CheckLine[] {
  const detail = 'not checked: no connection';
  return [
    { check: 'server-version', label: 'server version', status: 'skip', detail },
    ...extensions.map((name): CheckLine => ({ check: 'extension', label: `extension ${name}`, status: 'skip', detail })),
    { check: 'privileges', label: 'privileges', status: 'skip', detail },
    { check: 'migrations', label: 'migrations', status: 'skip', detail },
  ];
}

async function checkServerVersion(client: pg.Client, minimum: ServerVersion | undefined): Promise<CheckLine> {
  const { rows } = await client.query({ text: "SELECT current_setting('server_version_num')::int, current_setting('server_version')", rowMode: 'array' });
  const [num, text] = rows[0] as [number, string];
  const server = `PostgreSQL ${text.split(' ')[0]}`;
  if (!minimum) return { check: 'server-version', label: 'server version', status: 'pass', detail: `${server} (no minimum set: TIDEMARK_MIN_PG_VERSION)` };
  if (num >= minimum.num) return { check: 'server-version', label: 'server version', status: 'pass', detail: `${server}, at least ${minimum.text}` };
  return {
    check: 'server-version', label: 'server version', status: 'fail', detail: `${server} is older than the required ${minimum.text}`,
    remedy: `upgrade the server to PostgreSQL ${minimum.text} or later (or lower TIDEMARK_MIN_PG_VERSION if the project allows it)`,
  };
}

async function checkExtensions(client: pg.Client, names: string[]): Promise<CheckLine[]> {
  if (!names.length) return [];
  const { rows } = await client.query({
    text: `SELECT r.name, a.default_version, e.extversion
             FROM unnest($1::text[]) WITH ORDINALITY AS r(name, n)
             LEFT JOIN pg_available_extensions a ON a.name = r.name
             LEFT JOIN pg_extension e ON e.extname = r.name
            ORDER BY r.n`,
    values: [names],
    rowMode: 'array',
  });
  return (rows as [string, string | null, string | null][]).map(([name, available, installed]): CheckLine => {
    const label = `extension ${name}`;
    if (installed) return { check: 'extension', label, status: 'pass', detail: `installed (version ${installed})` };
    if (available) {
      return { check: 'extension', label, status: 'fail', detail: `available (version ${available}) but not installed in this database`, remedy: `CREATE EXTENSION ${sqlName(name)}; (in a migration)` };
    }
    return { check: 'extension', label, status: 'fail', detail: 'not available on the server', remedy: 'install its package on the database server (pg_trgm and most others: postgresql-contrib), then CREATE EXTENSION' };
  });
}

async function checkPrivileges(client: pg.Client): Promise<CheckLine> {
  const { rows } = await client.query({
    text: `SELECT current_user, current_database(), current_schema(), has_database_privilege(current_database(), 'CREATE'),
                  current_schema() IS NOT NULL AND has_schema_privilege(current_schema(), 'CREATE')`,
    rowMode: 'array',
  });
  const [user, database, schema, onDatabase, onSchema] = rows[0] as [string, string, string | null, boolean, boolean];
  const missing: string[] = [];
  const grants: string[] = [];
  if (!onDatabase) {
    missing.push(`database ${database}`);
    grants.push(`GRANT CREATE ON DATABASE ${sqlName(database)} TO ${sqlName(user)};`);
  }
  if (!onSchema) {
    missing.push(schema ? `schema ${schema}` : 'a schema (search_path names none that exists)');
    if (schema) grants.push(`GRANT CREATE ON SCHEMA ${sqlName(schema)} TO ${sqlName(user)};`);
  }
  if (!missing.length) return { check: 'privileges', label: 'privileges', status: 'pass', detail: `${user} may CREATE in database ${database} and schema ${schema}` };
  return {
    check: 'privileges', label: 'privileges', status: 'fail', detail: `${user} may not CREATE in ${missing.join(' nor in ')}`,
    remedy: grants.length ? `as the owner: ${grants.join(' ')}` : 'fix search_path in DATABASE_URL',
  };
}

async function checkMigrations(settings: Settings): Promise<CheckLine> {
  const label = 'migrations';
  let status;
  try {
    status = await migrateStatus(settings);
  } catch (err) {
    return { check: 'migrations', label, status: 'fail', detail: describeCause(err), remedy: 'check MIGRATIONS_DIR (--dir) and MIGRATIONS_TABLE (--table)' };
  }
  const at = status.version === null ? 'no version' : `version ${status.version}`;
  if (status.dirty) {
    return { check: 'migrations', label, status: 'fail', detail: `dirty at ${at}`, remedy: `repair what the failed migration left, then task migrate:force -- ${status.version ?? -1}` };
  }
  const problems = status.problems.map((p) => p.message);
  if (problems.length) return { check: 'migrations', label, status: 'fail', detail: problems.join('; '), remedy: 'see task migrate:status' };
  if (status.pending.length) {
    return { check: 'migrations', label, status: 'fail', detail: `${status.pending.length} pending (database at ${at}, files up to ${status.pending.at(-1)!.version})`, remedy: 'task migrate' };
  }
  return { check: 'migrations', label, status: 'pass', detail: `${at}, up to date (${status.counts.applied} applied)` };
}
