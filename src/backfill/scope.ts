import { createHash } from 'node:crypto';
import { TidemarkError } from '../errors.js';

export type Scope = Readonly<Record<string, string>>;

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function scopeError(cause: string, hint: string): TidemarkError {
  return new TidemarkError('INVALID_ARGUMENT', 'invalid arguments', { operation: 'read --scope', cause, hint });
}

/** `["repo_id=3", "kind=blob"]` → `{ repo_id: "3", kind: "blob" }`; a malformed or repeated pair is refused. */
export function parseScope(pairs: string[]): Scope {
  const scope: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at) : '';
    const value = at > 0 ? pair.slice(at + 1) : '';
    if (!KEY.test(key) || value === '') throw scopeError(`"${pair}" is not KEY=VALUE`, 'e.g. --scope repo_id=42; repeat --scope for several keys');
    if (key in scope) throw scopeError(`--scope ${key} is given twice`, 'give each key once');
    scope[key] = value;
  }
  return scope;
}

/** Refuses keys the backfill does not declare: an ignored scope would change every row. */
export function checkScopeKeys(scope: Scope, accepted: readonly string[], backfill: string): void {
  const unknown = Object.keys(scope).filter((k) => !accepted.includes(k));
  if (!unknown.length) return;
  throw scopeError(
    `backfill ${backfill} does not take --scope ${unknown.join(', ')}`,
    accepted.length ? `it takes: ${accepted.join(', ')}` : 'it takes no scope: it runs over all its rows',
  );
}

/** The scope as stable text, keys sorted (`kind=blob&repo_id=3`; '' for everything): the checkpoint's key. */
export function scopeKey(scope: Scope): string {
  return Object.keys(scope).sort().map((k) => `${k}=${encodeURIComponent(scope[k])}`).join('&');
}

export function describeScope(scope: Scope): string {
  const keys = Object.keys(scope).sort();
  return keys.length ? `scope ${keys.map((k) => `${k}=${scope[k]}`).join(', ')}` : 'all rows';
}

/**
 * The advisory lock of one backfill and scope: 62 bits of a SHA-256 with bit
 * 62 set, so that it is always above the migration locks' 32-bit keys.
 */
export function backfillLockKey(backfill: string, scope: Scope): bigint {
  const digest = createHash('sha256').update(`tidemark backfill\0${backfill}\0${scopeKey(scope)}`).digest();
  return (digest.readBigUInt64BE(0) & 0x3fffffffffffffffn) | 0x4000000000000000n;
}
