/**
 * Turns errors from PostgreSQL and from the network into plain words: the
 * message, its SQLSTATE, the line in the migration file, PostgreSQL's detail
 * and hint, and the offending line with a caret under the position.
 */

export interface PgErrorLike {
  message: string;
  code?: string;
  position?: string;
  detail?: string;
  hint?: string;
  where?: string;
}

export function isPgError(err: unknown): err is PgErrorLike & Error {
  return err instanceof Error && typeof (err as PgErrorLike).code === 'string' && /^[0-9A-Z]{5}$/.test((err as PgErrorLike).code!);
}

export interface SqlContext {
  /** The text the user wrote (the migration file). */
  sql: string;
  /** How many characters the server saw before `sql` began (a wrapper prefix). */
  offset?: number;
  /** The line of the file at which `sql` begins (for statement-by-statement runs). */
  firstLine?: number;
}

export interface SqlPosition {
  line: number;
  column: number;
  lineText: string;
}

/** PostgreSQL's 1-based character position, mapped into the user's text. */
export function positionInText(position: number, ctx: SqlContext): SqlPosition | undefined {
  const index = position - 1 - (ctx.offset ?? 0);
  if (!Number.isFinite(index) || index < 0 || index > ctx.sql.length) return undefined;
  const chars = Array.from(ctx.sql);
  const before = chars.slice(0, index).join('');
  const lines = before.split('\n');
  const line = lines.length + (ctx.firstLine ?? 1) - 1;
  const column = Array.from(lines[lines.length - 1]).length + 1;
  const lineStart = before.length - lines[lines.length - 1].length;
  const lineEnd = ctx.sql.indexOf('\n', lineStart);
  const lineText = ctx.sql.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  return { line, column, lineText };
}

export function describePgError(err: unknown, ctx?: SqlContext): string {
  if (!isPgError(err)) return describeNetworkError(err);
  const where: string[] = [`SQLSTATE ${err.code}`];
  const pos = err.position && ctx ? positionInText(Number(err.position), ctx) : undefined;
  if (pos) where.push(`line ${pos.line}`);
  else if (ctx?.firstLine !== undefined) where.push(`line ${ctx.firstLine}`);
  const lines = [`${err.message} (${where.join(', ')})`];
  if (pos) {
    lines.push(`  ${pos.lineText}`);
    lines.push(`  ${' '.repeat(Math.max(0, pos.column - 1))}^`);
  }
  if (err.detail) lines.push(`detail: ${err.detail}`);
  if (err.hint) lines.push(`hint: ${err.hint}`);
  if (err.where && !pos) lines.push(`where: ${err.where.split('\n')[0]}`);
  return lines.join('\n');
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running and listening there?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset by the server',
  EHOSTUNREACH: 'host unreachable',
};

export function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (code && NETWORK_CODES[code]) {
    const address = (err as { address?: string; port?: number }).address;
    const port = (err as { port?: number }).port;
    const at = address ? ` at ${address}${port ? `:${port}` : ''}` : '';
    return `${NETWORK_CODES[code]}${at}`;
  }
  if (err instanceof AggregateError && err.errors.length) return describeNetworkError(err.errors[0]);
  return err.message || String(err);
}

/** SQLSTATE classes that mean "you cannot get in", as opposed to a failed statement. */
export function isConnectionFailure(err: unknown): boolean {
  if (!isPgError(err)) return true;
  return /^(08|28|3D)/.test(err.code!) || err.code === '53300' || err.code === '57P03';
}
