import { parse as parseConnectionString } from 'pg-connection-string';
import type { ClientConfig } from 'pg';
import { TidemarkError } from './errors.js';

/** A parsed DATABASE_URL: what pg needs, plus what tidemark reads from it. */
export interface DatabaseTarget {
  client: ClientConfig;
  /** Database name as in the URL path, without the slash. */
  database: string;
  /** The URL path as golang-migrate's CLI sees it ("/app"), used in its lock key. */
  urlPath: string;
  /** The URL with the password masked: safe to print. */
  redacted: string;
  /** golang-migrate's `x-migrations-table` (and `-quoted`) from the URL, if given. */
  migrationsTable?: string;
  migrationsTableQuoted?: boolean;
  host: string;
  port: number;
  user: string;
  /** Kept apart so that it can be masked anywhere it might surface. */
  password?: string;
  /**
   * How long a connection may take to be ready for queries: `connect_timeout`
   * in the URL (seconds, as libpq reads it), else TIDEMARK_CONNECT_TIMEOUT,
   * else 10 s. 0 waits without limit, as in libpq.
   */
  connectTimeoutMs: number;
  /**
   * Whether closing a connection waits for the server to hang up (default
   * true). A library call waits, so that its connection is gone when the call
   * returns (an application or a test may drop the database right after). A
   * command-line run that is about to exit need not: the goodbye is sent, and
   * the process leaves without waiting for the socket to wind down.
   */
  waitForClose?: boolean;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const SCHEMES = new Set(['postgres:', 'postgresql:']);

const HIDDEN = '****';
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** Query parameters that libpq reads as secrets (`?password=`, `?sslpassword=`). */
const SECRET_PARAM = /password/i;

/**
 * The URL, safe to print. A URL that parses cleanly keeps everything but its
 * password (and its user name too when it has several `@` before the host).
 * When in doubt (it does not parse, or an `@` comes after the host: an
 * unencoded password holding `@` and `/`, `?` or `#`) only the scheme and
 * the host after the last `@` are kept: the password always comes before that `@`.
 * Without a scheme nothing is kept: a keyword string may hold a password anywhere.
 */
export function redactUrl(url: string): string {
  if (!url) return url;
  const scheme = SCHEME.exec(url)?.[0];
  if (!scheme) return HIDDEN;
  const rest = url.slice(scheme.length);
  const lastAt = rest.lastIndexOf('@');
  const onlyHost = `${scheme}${lastAt >= 0 ? `${HIDDEN}@` : ''}${hostAfter(rest.slice(lastAt + 1))}`;
  // Several @ before the host: where the user name ends is a guess, so it goes too.
  const redacted = atAfterHost(url) ? onlyHost : redactParsed(url, rest.indexOf('@') !== lastAt) ?? onlyHost;
  return maskSecrets(redacted, urlSecrets(url));
}

/**
 * An `@` after the URL's host: what an unencoded password holding `@` and then
 * `/`, `?` or `#` looks like. URL parsers then read a piece of the password
 * as the host and the rest as the path or fragment.
 */
function atAfterHost(url: string): boolean {
  const rest = url.slice(SCHEME.exec(url)?.[0].length ?? 0);
  return rest.lastIndexOf('@') > rest.search(/[/?#]|$/);
}

/** host[:port][,host…] at the start of the text, and nothing else. */
function hostAfter(text: string): string {
  return /^[\w.\-:[\],%]*/.exec(text)![0];
}

function redactParsed(url: string, hideUser: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (hideUser) {
    parsed.username = HIDDEN;
    parsed.password = '';
  } else if (parsed.password) parsed.password = HIDDEN;
  for (const key of [...parsed.searchParams.keys()]) if (SECRET_PARAM.test(key)) parsed.searchParams.set(key, HIDDEN);
  return parsed.toString();
}

/**
 * Every text that may be the URL's password, as typed, percent-decoded or
 * percent-encoded, longest first: for an unencoded password with `@` in it
 * each `@` may be the one that ends it, so each candidate is masked.
 */
export function urlSecrets(url: string | undefined): string[] {
  const scheme = url && SCHEME.exec(url)?.[0];
  if (!url || !scheme) return [];
  const rest = url.slice(scheme.length);
  const colon = rest.search(/[:@/?#]/);
  const found: string[] = [];
  if (rest[colon] === ':') {
    for (let at = rest.indexOf('@', colon); at >= 0; at = rest.indexOf('@', at + 1)) found.push(rest.slice(colon + 1, at));
  }
  try {
    const parsed = new URL(url);
    found.push(parsed.password);
    for (const [key, value] of parsed.searchParams) if (SECRET_PARAM.test(key)) found.push(value);
  } catch {
    // The raw candidates above are all there is.
  }
  const variants = found.filter(Boolean).flatMap((text) => {
    const decoded = decodeLeniently(text);
    return [text, decoded, encodeURIComponent(text), encodeURIComponent(decoded)];
  });
  return [...new Set(variants)].sort((a, b) => b.length - a.length);
}

/** Decodes the well-formed %XX sequences and keeps the rest, as pg-connection-string does. */
function decodeLeniently(text: string): string {
  return text.replace(/(%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function invalidUrl(url: string, cause: string): TidemarkError {
  return new TidemarkError('CONFIG_INVALID', 'invalid database URL', {
    operation: `parse DATABASE_URL (${redactUrl(url)})`,
    cause,
    hint: 'use postgres://user:password@host:5432/dbname?sslmode=disable',
  });
}

/**
 * Parses a PostgreSQL URL with pg-connection-string, after checking the parts
 * that it accepts silently (any scheme, no host). golang-migrate's `x-` query
 * parameters are read and kept away from the server.
 */
export function parseDatabaseUrl(url: string, defaults: { connectTimeoutMs?: number } = {}): DatabaseTarget {
  if (SCHEME.test(url) && atAfterHost(url)) {
    const cause = 'an "@" after the host: a password holding @ and /, ? or # must be percent-encoded (@ %40, / %2F, ? %3F, # %23)';
    throw invalidUrl(url, cause);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidUrl(url, 'not a URL');
  }
  if (!SCHEMES.has(parsed.protocol)) throw invalidUrl(url, `unsupported scheme "${parsed.protocol.replace(/:$/, '')}"; expected postgres or postgresql`);
  if (!parsed.pathname || parsed.pathname === '/') throw invalidUrl(url, 'no database name in the URL path');
  const xParams = new Map<string, string>();
  for (const [key, value] of [...parsed.searchParams]) {
    if (key.startsWith('x-')) {
      xParams.set(key, value);
      parsed.searchParams.delete(key);
    }
  }
  // lib/pq (and so golang-migrate) gives sslmode its libpq meaning; so do we.
  if (parsed.searchParams.has('sslmode') && !parsed.searchParams.has('uselibpqcompat')) parsed.searchParams.set('uselibpqcompat', 'true');
  const connectTimeoutMs = urlConnectTimeout(url, parsed.searchParams.get('connect_timeout')) ?? defaults.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  parsed.searchParams.delete('connect_timeout');
  const options = parseConnectionString(parsed.toString()) as Record<string, unknown>;
  const client = toClientConfig(options);
  const database = String(options.database ?? '');
  return {
    client,
    database,
    urlPath: decodeURIComponent(new URL(url).pathname),
    redacted: redactUrl(url),
    migrationsTable: xParams.get('x-migrations-table'),
    migrationsTableQuoted: ['1', 'true'].includes(xParams.get('x-migrations-table-quoted') ?? ''),
    host: String(client.host ?? 'localhost'),
    port: Number(client.port ?? 5432),
    user: String(client.user ?? ''),
    password: typeof client.password === 'string' && client.password !== '' ? client.password : undefined,
    connectTimeoutMs,
  };
}

/** libpq's connect_timeout: whole seconds; 0 or less waits forever; 1 counts as 2 (libpq's minimum). */
function urlConnectTimeout(url: string, value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw invalidUrl(url, `connect_timeout "${value}" is not a whole number of seconds`);
  const seconds = Number(value.trim());
  if (seconds <= 0) return 0;
  return Math.max(seconds, 2) * 1000;
}

function toClientConfig(options: Record<string, unknown>): ClientConfig {
  const { search_path: searchPath, options: pgOptions, port, sslmode: _sslmode, uselibpqcompat: _compat, ...rest } = options;
  const extra = searchPath ? `-c search_path=${String(searchPath).replace(/([ \\])/g, '\\$1')}` : '';
  const combined = [pgOptions, extra].filter(Boolean).join(' ');
  return {
    ...(rest as ClientConfig),
    port: port ? Number(port) : 5432,
    host: (rest.host as string) || 'localhost',
    user: (rest.user as string) || undefined,
    password: (rest.password as string) || undefined,
    ...(combined && { options: combined }),
  };
}

/** Masks every known secret in a text that may reach the user, the longest first (one may contain another). */
export function maskSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  const longestFirst = secrets.filter((s): s is string => !!s).sort((a, b) => b.length - a.length);
  for (const secret of longestFirst) {
    if (secret && secret.length >= 3) out = out.split(secret).join('****');
  }
  return out;
}
