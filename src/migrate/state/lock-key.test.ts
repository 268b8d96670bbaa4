import { describe, expect, it } from 'vitest';
import { advisoryLockKey, migrationLockKeys } from './lock-key.js';

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
});
