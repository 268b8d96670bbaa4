import { describe, expect, it } from 'vitest';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { advisoryLockKey, crc32, migrationLockKeys } from './lock-key.js';

describe('advisoryLockKey', () => {
  it("matches golang-migrate's test vectors", () => {
    expect(advisoryLockKey('database_name')).toBe(1764327054n);
    expect(advisoryLockKey('database_name', 'schema_name_1')).toBe(2453313553n);
  });
  it('takes both the CLI key (URL path) and the library key (current_database())', () => {
    const keys = migrationLockKeys('/app', 'app', 'public', 'schema_migrations');
    expect(keys).toEqual([advisoryLockKey('/app', 'public', 'schema_migrations'), advisoryLockKey('app', 'public', 'schema_migrations')]);
    expect(keys[0]).not.toBe(keys[1]);
  });
  it('computes the same CRC-32 as zlib', () => {
    for (const text of ['', 'a', 'database_name', '/app\x00public\x00schema_migrations', 'é ünïcode ✓', 'x'.repeat(1000)]) {
      const bytes = Buffer.from(text, 'utf8');
      expect(crc32(bytes), text.slice(0, 40)).toBe(zlibCrc32(bytes));
    }
  });
});
