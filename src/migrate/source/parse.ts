/**
 * golang-migrate's file naming, as a pure function: `{version}_{title}.{up|down}.sql`.
 */
export type Direction = 'up' | 'down';

export interface ParsedFileName {
  version: bigint;
  name: string;
  direction: Direction;
}

export const MIGRATION_FILE_PATTERN = /^([0-9]+)_(.*)\.(up|down)\.sql$/;
export const MAX_VERSION = 9223372036854775807n;

export type ParseResult = { ok: true; value: ParsedFileName } | { ok: false; reason: 'no-match' | 'out-of-range' };

const MAX_VERSION_DIGITS = MAX_VERSION.toString();

/**
 * A version's digits in canonical form (no leading zeros), which compare and
 * key a map as strings: a directory of thousands of files is listed without
 * a BigInt per file. Undefined when the version is beyond PostgreSQL's bigint.
 */
export function canonicalVersion(digits: string): string | undefined {
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) === 48) start++;
  const canonical = start ? digits.slice(start) : digits;
  const max = MAX_VERSION_DIGITS;
  if (canonical.length > max.length || (canonical.length === max.length && canonical > max)) return undefined;
  return canonical;
}

/** Orders canonical version strings numerically. */
export function compareCanonicalVersions(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

export function parseMigrationFileName(fileName: string): ParseResult {
  const match = MIGRATION_FILE_PATTERN.exec(fileName);
  if (!match) return { ok: false, reason: 'no-match' };
  const canonical = canonicalVersion(match[1]);
  if (canonical === undefined) return { ok: false, reason: 'out-of-range' };
  return { ok: true, value: { version: BigInt(canonical), name: match[2], direction: match[3] as Direction } };
}

/**
 * A version given by a user: an integer within PostgreSQL's bigint, with an
 * optional minimum. Returns undefined for anything else.
 */
export function parseVersionArgument(text: string, min = 0n): bigint | undefined {
  const trimmed = text.trim();
  if (!/^-?[0-9]+$/.test(trimmed)) return undefined;
  const value = BigInt(trimmed);
  if (value < min || value > MAX_VERSION) return undefined;
  return value;
}

/** `Add Users` → `add_users`; undefined when nothing usable is left or the name holds a path or quote. */
export function normaliseMigrationName(raw: string): string | undefined {
  if (/[/\\'"`\x00-\x1f]|\.\./.test(raw)) return undefined;
  const name = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return name ? name.slice(0, 100) : undefined;
}
