/**
 * The targets of a fleet: a list of database URLs (a file, one a line) or
 * the rows of a query (a `url` column, or a `schema` column naming schemas
 * of DATABASE_URL's database). A schema target is DATABASE_URL with its
 * search_path set to the schema, so that the migrations table, its history
 * and the advisory-lock key resolve for that schema exactly as they do for
 * a single database whose URL says `?search_path=`.
 */
import pg from 'pg';
import { connectTimeoutFrom } from '../config.js';
import { maskSecrets, parseDatabaseUrl, urlSecrets, type DatabaseTarget } from '../connection-string.js';
import { TidemarkError } from '../errors.js';

export interface FleetTarget {
  /** The URL with its password masked: the target's identity in reports and for --resume. */
  key: string;
  /** A short name for the report: database, and `:schema` for a schema target (the key when names clash). */
  name: string;
  database: DatabaseTarget;
  /** The schema of a schema-per-tenant target (its search_path), if any. */
  schema?: string;
}

export interface TargetList {
  targets: FleetTarget[];
  /** Every text that may be a password: to mask in all output and in the report file. */
  secrets: string[];
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function targetsError(operation: string, cause: string, hint?: string): TidemarkError {
  return new TidemarkError('FLEET_TARGETS_INVALID', 'invalid fleet targets', {
    operation, cause, hint: hint ?? 'one database URL a line, `#` comments; passwords as ${VAR} from the environment',
  });
}

/**
 * `${VAR}` replaced by the variable's value, percent-encoded so that any
 * password is taken as it is (an `@`, `/` or `:` in it cannot end the user
 * part). The values are secrets: they are returned to be masked.
 */
export function expandVariables(text: string, env: Record<string, string | undefined>, where: string): { text: string; secrets: string[] } {
  const secrets: string[] = [];
  const expanded = text.replace(VARIABLE, (_whole, name: string) => {
    const value = env[name];
    if (value === undefined) throw targetsError(`read ${where}`, `\${${name}} is not set in the environment (nor in .env)`, `set ${name}, or write the value in the line`);
    secrets.push(value, encodeURIComponent(value));
    return encodeURIComponent(value);
  });
  return { text: expanded, secrets };
}

/** A line without its comment: `#` at its start, or after a blank (a `#` inside a URL must be percent-encoded anyway). */
function stripComment(line: string): string {
  const at = line.search(/(^|\s)#/);
  return (at < 0 ? line : line.slice(0, at)).trim();
}

/** The search_path a URL sets, as the schema of a schema-per-tenant target. */
function schemaOf(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get('search_path') ?? undefined;
  } catch {
    return undefined;
  }
}

function parseTarget(url: string, env: Record<string, string | undefined>, where: string): { target: Omit<FleetTarget, 'name'>; secrets: string[] } {
  const expanded = expandVariables(url, env, where);
  const secrets = [...expanded.secrets, ...urlSecrets(expanded.text)];
  let database: DatabaseTarget;
  try {
    database = parseDatabaseUrl(expanded.text, { connectTimeoutMs: connectTimeoutFrom(env) });
  } catch (err) {
    const cause = err instanceof TidemarkError ? (err.reason ?? err.message) : String(err);
    throw targetsError(`read ${where}`, maskSecrets(cause, secrets), (err as TidemarkError).hint);
  }
  return { target: { key: maskSecrets(database.redacted, secrets), database, schema: schemaOf(expanded.text) }, secrets };
}

/** The targets of a targets file's text; `source` names the file in messages. */
export function parseTargetsText(text: string, env: Record<string, string | undefined>, source: string): TargetList {
  const found: Omit<FleetTarget, 'name'>[] = [];
  const secrets: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = stripComment(raw);
    if (!line) return;
    const parsed = parseTarget(line, env, `${source} line ${i + 1}`);
    found.push(parsed.target);
    secrets.push(...parsed.secrets);
  });
  if (!found.length) throw targetsError(`read ${source}`, 'no targets: every line is blank or a comment');
  return { targets: named(found, source), secrets };
}

/** Targets from the rows of --targets-sql: URLs (with ${VAR} as in a file), or schemas of `base`. */
export function targetsFromRows(column: 'url' | 'schema', values: string[], base: DatabaseTarget, env: Record<string, string | undefined>): TargetList {
  if (column === 'schema') return { targets: named(values.map((schema) => schemaTarget(base, schema)), '--targets-sql'), secrets: [] };
  const parsed = values.map((url, i) => parseTarget(url, env, `--targets-sql row ${i + 1}`));
  return { targets: named(parsed.map((p) => p.target), '--targets-sql'), secrets: parsed.flatMap((p) => p.secrets) };
}

/** A schema name as search_path reads it: quoted unless it is a plain lower-case name. */
function searchPathValue(schema: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(schema) ? schema : pg.escapeIdentifier(schema);
}

/** DATABASE_URL's database with search_path set to the schema (after any the URL sets: the last one counts). */
export function schemaTarget(base: DatabaseTarget, schema: string): Omit<FleetTarget, 'name'> {
  const option = `-c search_path=${searchPathValue(schema).replace(/([ \\])/g, '\\$1')}`;
  const options = [base.client.options, option].filter(Boolean).join(' ');
  let key: string;
  try {
    const url = new URL(base.redacted);
    url.searchParams.set('search_path', schema);
    key = url.toString();
  } catch {
    key = `${base.redacted} search_path=${schema}`;
  }
  return { key, schema, database: { ...base, client: { ...base.client, options }, redacted: key } };
}

/** Short names when they are unique (`app:tenant_7`), else the keys; the same target twice is an error. */
function named(targets: Omit<FleetTarget, 'name'>[], source: string): FleetTarget[] {
  const keys = new Set<string>();
  for (const t of targets) {
    if (keys.has(t.key)) throw targetsError(`read ${source}`, `${t.key} is listed twice`, 'list each target once');
    keys.add(t.key);
  }
  const short = targets.map((t) => `${t.database.database}${t.schema ? `:${t.schema}` : ''}`);
  const unique = new Set(short).size === short.length;
  return targets.map((t, i) => ({ ...t, name: unique ? short[i] : t.key }));
}
