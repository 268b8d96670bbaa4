import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { inject } from 'vitest';
import { redactUrl, urlSecrets } from '../src/connection-string.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { migrationsDir } from './helpers/migrations.js';

/** Every piece of three or more characters of the password that shows in the text. */
function leakedPieces(text: string, password: string): string[] {
  const pieces = new Set<string>();
  for (let i = 0; i + 3 <= password.length; i++) if (text.includes(password.slice(i, i + 3))) pieces.add(password.slice(i, i + 3));
  return [...pieces];
}

const H = '127.0.0.1:55432';
// [URL, the password its author meant]
const hostile: Array<[string, string]> = [
  [`postgres://postgres:Sec@r#et10@${H}/f1`, 'Sec@r#et10'],
  [`postgres://app:Sec@r/et10@${H}/f1`, 'Sec@r/et10'],
  [`postgres://app:Sec@r?et10@${H}/f1`, 'Sec@r?et10'],
  [`postgres://app:a1@b2@c3@${H}/f1?sslmode=disable`, 'a1@b2@c3'],
  [`postgres://app:12#ss3cr@${H}/f1`, '12#ss3cr'],
  [`postgres://app:99/s3cr3t@${H}/f1`, '99/s3cr3t'],
  [`postgres://app:77?q=s3cr3t@${H}/f1`, '77?q=s3cr3t'],
  [`postgres://app:s3c/@${H}/f1`, 's3c/'],
  [`postgres://app:p%zz%41xq@${H}/f1`, 'p%zz%41xq'],
  [`postgres://app:p%40ss%2Fw0rd%23@${H}/f1`, 'p@ss/w0rd#'],
  [`postgres://app:pässwörd€@${H}/f1`, 'pässwörd€'],
  [`postgres://app:@${H}/f1`, ''],
  [`postgres://samesame:samesame@${H}/samesame`, 'samesame'],
  [`postgres://app:127.0.0.1@${H}/f1`, '127.0.0.1'],
  [`postgres://app:pa ss word@${H.replace('55432', 'x')}/f1`, 'pa ss word'],
  [`postgres://app:pw:d3x@q@${H}/f1`, 'pw:d3x@q'],
  [`postgres://${H}/f1?password=qs3cret&sslmode=disable`, 'qs3cret'],
  ['host=127.0.0.1 password=kw3secret dbname=f1', 'kw3secret'],
];

describe('redactUrl', () => {
  it.each(hostile)('%s shows no part of its password', (url, password) => {
    const redacted = redactUrl(url);
    expect(leakedPieces(redacted, password)).toEqual([]);
    expect(leakedPieces(redacted, encodeURIComponent(password))).toEqual([]);
  });

  it('keeps all but the password of a URL that parses cleanly', () => {
    expect(redactUrl(`postgres://app:s3cret@${H}/f1?sslmode=disable`)).toBe(`postgres://app:****@${H}/f1?sslmode=disable`);
    expect(redactUrl(`postgres://${H}/f1?password=qs3cret&sslmode=disable`)).toBe(`postgres://${H}/f1?password=****&sslmode=disable`);
  });

  it('with several @ before the host keeps all but the user name and password', () => {
    expect(redactUrl(`postgres://app:a1@b2@c3@${H}/f1?sslmode=disable`)).toBe(`postgres://****@${H}/f1?sslmode=disable`);
  });

  it('when in doubt keeps only the scheme and what follows the last @', () => {
    expect(redactUrl(`postgres://postgres:Sec@r#et10@${H}/f1`)).toBe(`postgres://****@${H}`);
    expect(redactUrl(`postgres://app:Sec@r/et10@${H}/f1?sslmode=disable`)).toBe(`postgres://****@${H}`);
    expect(redactUrl(`postgres://app:pa ss@${H.replace('55432', 'x')}/f1`)).toBe('postgres://****@127.0.0.1:x');
    expect(redactUrl('host=127.0.0.1 password=kw3secret')).toBe('****');
  });

  it('the secrets to mask include the whole password, up to the last @', () => {
    expect(urlSecrets(`postgres://postgres:Sec@r#et10@${H}/f1`)).toEqual(expect.arrayContaining(['Sec@r#et10', 'Sec']));
    expect(urlSecrets(`postgres://app:p%40ss%2Fw0rd%23@${H}/f1`)).toEqual(expect.arrayContaining(['p%40ss%2Fw0rd%23', 'p@ss/w0rd#']));
  });
});

describe('passwords in command output', () => {
  let db: TestDatabase;
  let server: URL;
  const roles: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('redaction');
    server = new URL(inject('pg18Url'));
  });
  afterAll(async () => {
    await db.close();
    const admin = new pg.Client({ connectionString: inject('pg18Url') });
    await admin.connect();
    for (const role of new Set(roles)) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
    await admin.end();
  });

  /** A login role of the test's own with this password, owning the test database's public schema. */
  async function role(name: string, password: string): Promise<string> {
    const full = name;
    roles.push(full);
    const { rowCount } = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [full]);
    await db.query(`${rowCount ? 'ALTER' : 'CREATE'} ROLE ${pg.escapeIdentifier(full)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
    await db.query(`GRANT ALL ON SCHEMA public TO ${pg.escapeIdentifier(full)}`);
    return full;
  }

  function expectNoLeak(result: { stdout: string; stderr: string }, password: string): void {
    const output = `${result.stdout}\n${result.stderr}`;
    expect(leakedPieces(output, password), output).toEqual([]);
  }

  // Unencoded passwords that URL parsers read as a host and a path or fragment: refused before any connection.
  it.each([
    ['Sec@r#et10', (u: string, p: string) => `postgres://${u}:${p}@${server.host}/${db.name}`],
    ['Sec@r/et10', (u: string, p: string) => `postgres://${u}:${p}@${server.host}/${db.name}`],
    ['Sec@r?et10', (u: string, p: string) => `postgres://${u}:${p}@${server.host}/${db.name}`],
  ])('an unencoded password %s is refused, in text and JSON, without showing any of it', async (password, makeUrl) => {
    const url = makeUrl('tmuser', password);
    const { dir } = await migrationsDir({});
    for (const [target, args] of [['migrate:version', []], ['migrate:status', ['--json', '--dir', dir]], ['migrate', ['--dir', dir]]] as const) {
      const result = await runCli(target, [...args], { env: { DATABASE_URL: url } });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('CONFIG_INVALID');
      expect(result.stderr).toContain('percent-encoded');
      expectNoLeak(result, password);
    }
  });

  // Passwords that do reach the server: the commands work and print none of them.
  // [what, the password in the URL, the password the server knows (what the URL means to the parser)]
  it.each([
    ['several @ in the authority', 'a1@b2@c3', 'a1@b2@c3'],
    ['percent sequences', 'p%zz%41xq', 'p%zzAxq'],
    ['encoded @ / # ?', encodeURIComponent('p@ss/w0rd#?'), 'p@ss/w0rd#?'],
    ['unicode', 'ünï©ødé€', 'ünï©ødé€'],
    ['equal to the user', 'tmqzx', 'tmqzx'],
    ['equal to the host', '127.0.0.1', '127.0.0.1'],
  ])('a password with %s: migrate:version, migrate:status --json and a failed connect show none of it', async (_what, inUrl, real) => {
    const user = await role(real === 'tmqzx' ? 'tmqzx' : 'tmredact', real);
    const url = `postgres://${user}:${inUrl}@${server.host}/${db.name}`;
    const { dir } = await migrationsDir({ '000001_one.up.sql': 'CREATE TABLE redaction_one (id int);\n' });

    const version = await runCli('migrate:version', ['--dir', dir], { env: { DATABASE_URL: url } });
    expect(version, version.stderr).toMatchObject({ code: 0, stdout: 'none\n' });
    const status = await runCli('migrate:status', ['--json', '--dir', dir], { env: { DATABASE_URL: url } });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).counts).toMatchObject({ pending: 1 });
    expectNoLeak(status, real);
    expectNoLeak(status, inUrl);

    // Nothing listens on port 1: the connection fails and its error names the (redacted) URL.
    const failed = await runCli('migrate:version', ['--dir', dir], { env: { DATABASE_URL: url.replace(server.host, '127.0.0.1:1') } });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/connect to postgres:\/\//);
    expectNoLeak(failed, real);
    expectNoLeak(failed, inUrl);
  });
});
