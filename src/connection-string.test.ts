import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactUrl } from './connection-string.js';

describe('parseDatabaseUrl', () => {
  it('honours sslmode, search_path, options and golang-migrate x- parameters', () => {
    const t = parseDatabaseUrl('postgres://app:s3cret@db.internal:6543/app?sslmode=disable&search_path=tenant&x-migrations-table=my_versions&application_name=web');
    expect(t.client).toMatchObject({ host: 'db.internal', port: 6543, user: 'app', database: 'app', ssl: false, options: '-c search_path=tenant', application_name: 'web' });
    expect(t.client).not.toHaveProperty('x-migrations-table');
    expect(t.migrationsTable).toBe('my_versions');
    expect(t.urlPath).toBe('/app');
    expect(t.redacted).toBe('postgres://app:****@db.internal:6543/app?sslmode=disable&search_path=tenant&x-migrations-table=my_versions&application_name=web');
  });
  it.each([
    ['not a url', 'not a URL'],
    ['mysql://u:p@h/db', 'unsupported scheme "mysql"'],
    ['postgres://u:p@h', 'no database name'],
  ])('refuses %s with CONFIG_INVALID', (url, cause) => {
    let err: any;
    try { parseDatabaseUrl(url); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(err.reason).toContain(cause);
    expect(JSON.stringify(err.toJSON())).not.toContain(':p@');
  });
  it('leaves an empty URL empty (nothing configured)', () => {
    expect(redactUrl('')).toBe('');
  });
  it('masks passwords even in URLs it cannot parse', () => {
    expect(redactUrl('postgres://u:pa ss@h:x/db')).not.toContain('pa ss');
  });
});
