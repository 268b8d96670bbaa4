import { crc32 } from 'node:zlib';

// golang-migrate's salt (database/util.go); keeps its keys and ours identical.
const ADVISORY_LOCK_SALT = 1486364155;

/**
 * golang-migrate's GenerateAdvisoryLockId: crc32 (IEEE) of the names joined
 * with NUL, the extra names before the database name, times the salt, modulo
 * 2^32 (Go's uint32 arithmetic).
 */
export function advisoryLockKey(databaseName: string, ...additionalNames: string[]): bigint {
  const joined = additionalNames.length ? [...additionalNames, databaseName].join('\x00') : databaseName;
  const sum = crc32(Buffer.from(joined, 'utf8'));
  return (BigInt(sum) * BigInt(ADVISORY_LOCK_SALT)) % 2n ** 32n;
}

/**
 * The keys tidemark holds: golang-migrate's CLI passes the URL path ("/app"),
 * its library current_database() ("app"). Both, always in this order, so that
 * neither kind of golang-migrate run can overlap with ours.
 */
export function migrationLockKeys(urlPath: string, currentDatabase: string, schema: string, table: string): bigint[] {
  const keys = [advisoryLockKey(urlPath, schema, table), advisoryLockKey(currentDatabase, schema, table)];
  return keys[0] === keys[1] ? [keys[0]] : keys;
}
