// golang-migrate's salt (database/util.go); keeps its keys and ours identical.
const ADVISORY_LOCK_SALT = 1486364155;
// The IEEE polynomial (reversed), as Go's crc32.ChecksumIEEE and zlib use it.
const CRC32_POLYNOMIAL = 0xedb88320;

/**
 * CRC-32 (IEEE) of a few dozen bytes, bit by bit. node:zlib has one, but
 * loading zlib for it cost every command that bundles the lock 1-2 ms of its
 * start.
 */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ CRC32_POLYNOMIAL : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

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
