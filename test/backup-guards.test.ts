import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { inject } from 'vitest';
import type { TestDatabase } from './helpers/db.js';
import { collect, spawnCli } from './helpers/cli.js';
import { backupCli, contentOf, seededDatabase, standIn, tempDir } from './helpers/backup.js';
import { waitFor } from './helpers/wait.js';

let db: TestDatabase;
let password: string;
beforeAll(async () => {
  db = await seededDatabase('guards');
  password = decodeURIComponent(new URL(db.url).password);
});
afterAll(() => db.close());

const realBin = () => inject('pgToolsBinDir');

/** A PG_BIN_DIR whose pg_dump is a stand-in script; the other tools are the real ones. */
async function fakeBinDir(label: string, pgDumpScript: string): Promise<string> {
  const dir = await tempDir(label);
  for (const tool of ['pg_restore', 'psql']) await standIn(dir, tool, `exec "${realBin()}/${tool}" "$@"\n`);
  await standIn(dir, 'pg_dump', pgDumpScript);
  return dir;
}

describe('what a cron job can trust', () => {
  it('a pg_dump killed mid-dump leaves no file under a final name, and the run fails', async () => {
    const bin = await fakeBinDir('bin-killed', `if [ "$1" = --version ]; then exec "${realBin()}/pg_dump" --version; fi
"${realBin()}/pg_dump" "$@" | head -c 20000
kill -9 $$\n`);
    const dir = await tempDir('killed');
    const result = await backupCli('backup:create', [], db, dir, { env: { PG_BIN_DIR: bin } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^BACKUP_FAILED: backup failed\n  operation: back up the database\n  error: pg_dump was killed by SIGKILL/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('running out of space fails the backup and leaves nothing behind', async () => {
    const dir = await tempDir('full-disk');
    // A 64 KiB filesystem: smaller than the dump.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
    try {
      const result = await backupCli('backup:create', [], db, dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^BACKUP_FAILED: backup failed\n[^]*no space left on the device; the partial file was removed/);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      execFileSync('umount', [dir]);
    }
  });

  it('two backups at once: the second is refused at once with its own code', async () => {
    const dir = await tempDir('locked');
    const gate = path.join(dir, '..', `gate-${process.pid}-${Date.now()}`);
    execFileSync('mkfifo', [gate]);
    const bin = await fakeBinDir('bin-slow', `if [ "$1" = --version ]; then exec "${realBin()}/pg_dump" --version; fi
cat "${gate}" > /dev/null
exec "${realBin()}/pg_dump" "$@"\n`);
    const env = { DATABASE_URL: db.url, BACKUP_DIR: dir, PG_BIN_DIR: bin };
    const first = spawnCli('backup:create', [], { env });
    const firstDone = collect(first);
    await waitFor(async () => (await readdir(dir)).some((f) => f.includes('.partial-')), 'the first backup to start writing');
    const second = await backupCli('backup:create', [], db, dir, { env: { PG_BIN_DIR: bin } });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^BACKUP_LOCKED: another backup is running\\n[^]*a backup of ${db.name} into ${dir} is running: pid \\d+`));
    await writeFile(gate, 'go');
    const done = await firstDone;
    expect(done.code, done.stderr).toBe(0);
    expect((await readdir(dir)).filter((f) => f.endsWith('.dump'))).toHaveLength(1);
  });

  it('a client older than the server is refused before dumping', async () => {
    const bin = await fakeBinDir('bin-old', `if [ "$1" = --version ]; then echo "pg_dump (PostgreSQL) 9.6.24"; exit 0; fi
echo dumped > "$(dirname "$0")/ran"; exit 1\n`);
    const dir = await tempDir('old-client');
    const result = await backupCli('backup:create', [], db, dir, { env: { PG_BIN_DIR: bin } });
    expect(result.code).toBe(1);
    const serverMajor = (await db.query('SHOW server_version_num')).rows[0].server_version_num.slice(0, 2);
    expect(result.stderr).toContain('BACKUP_CLIENT_TOO_OLD: pg_dump is older than the server');
    expect(result.stderr).toContain(`the server is PostgreSQL ${serverMajor}; pg_dump found: 9.6.24 (${bin}/pg_dump)`);
    expect(result.stderr).toContain(`postgresql-client-${serverMajor}`);
    expect(existsSync(path.join(bin, 'ran'))).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('the password reaches pg_dump through a 0600 passfile that is removed, never argv, output or files', async () => {
    const bin = await fakeBinDir('bin-spy', `if [ "$1" = --version ]; then exec "${realBin()}/pg_dump" --version; fi
log="$(dirname "$0")/spy.log"
printf '%s\\n' "$@" > "$log"
echo "PGPASSFILE=$PGPASSFILE mode=$(stat -c %a "$PGPASSFILE") PGPASSWORD=\${PGPASSWORD:-unset}" >> "$log"
exec "${realBin()}/pg_dump" "$@"\n`);
    const dir = await tempDir('spy');
    const result = await backupCli('backup:create', [], db, dir, { env: { PG_BIN_DIR: bin } });
    expect(result.code, result.stderr).toBe(0);
    const log = await readFile(path.join(bin, 'spy.log'), 'utf8');
    expect(log).not.toContain(password);
    expect(log).toMatch(/mode=600 PGPASSWORD=unset/);
    const passfile = log.match(/PGPASSFILE=(\S+)/)![1];
    expect(existsSync(passfile)).toBe(false);
    expect(result.stdout + result.stderr).not.toContain(password);
    for (const file of await readdir(dir)) expect((await readFile(path.join(dir, file))).includes(Buffer.from(password)), file).toBe(false);
  });
});

describe('containerised databases (stand-in docker)', () => {
  /**
   * No Docker engine runs here: this stand-in records its argv and runs the
   * tool locally, with the connection a container's own socket would give.
   */
  async function fakeDocker(): Promise<{ dir: string; log: string }> {
    const dir = await tempDir('docker');
    const log = path.join(dir, 'argv.log');
    const u = new URL(db.url);
    await standIn(dir, 'docker', `printf '%s ' "$@" >> "${log}"; echo >> "${log}"
echo "PGPASSWORD-present=\${PGPASSWORD:+yes}" >> "${log}"
args=("$@")
if [ "\${args[0]}" = compose ]; then args=("\${args[@]:1}"); while [ "\${args[0]}" = -f ]; do args=("\${args[@]:2}"); done; fi
args=("\${args[@]:1}")
while [[ "\${args[0]}" == -* ]]; do if [ "\${args[0]}" = -e ]; then args=("\${args[@]:2}"); else args=("\${args[@]:1}"); fi; done
args=("\${args[@]:1}")
tool="\${args[0]}"; args=("\${args[@]:1}")
export PGHOST=${u.hostname} PGPORT=${u.port}
exec "${realBin()}/$tool" "\${args[@]}"\n`);
    return { dir, log };
  }

  it.each([
    ['PG_CONTAINER', { PG_CONTAINER: 'musehub_postgres' }, /^exec -i -e PGPASSWORD -e PGSSLMODE -e PGAPPNAME -e PGCONNECT_TIMEOUT musehub_postgres pg_dump /m],
    ['PG_COMPOSE_SERVICE', { PG_COMPOSE_SERVICE: 'db', PG_COMPOSE_FILE: 'deploy/compose.yml' }, /^compose -f deploy\/compose\.yml exec -T -e PGPASSWORD -e PGSSLMODE -e PGAPPNAME -e PGCONNECT_TIMEOUT db pg_dump /m],
  ])('backup and restore through %s: streamed over stdio, password only by name', async (_label, containerEnv, expected) => {
    const docker = await fakeDocker();
    const dir = await tempDir('container-backups');
    const env = { ...containerEnv, PATH: `${docker.dir}:${process.env.PATH}`, PG_BIN_DIR: '' };
    const url = `${db.url}?sslmode=disable`;
    const made = await backupCli('backup:create', ['--json'], { url } as TestDatabase, dir, { env });
    expect(made.code, made.stderr).toBe(0);
    const manifest = JSON.parse(made.stdout).manifest;
    expect(manifest.ranOn).toContain('docker');
    const name = `r_container_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
    const restored = await backupCli('backup:restore', [JSON.parse(made.stdout).path, '--new', name], { url } as TestDatabase, dir, { env });
    expect(restored.code, restored.stderr).toBe(0);
    const log = await readFile(docker.log, 'utf8');
    expect(log).toMatch(expected);
    expect(log).toMatch(/pg_restore -U postgres --no-password --exit-on-error --dbname tidemark_restoring_\d+_[0-9a-f]{6}_[0-9a-f]{8} /);
    expect(log).toMatch(/ALTER DATABASE \\?"tidemark_restoring_\d+_[0-9a-f]{6}_[0-9a-f]{8}\\?" RENAME TO \\?"r_container_/);
    expect(log).toContain('PGPASSWORD-present=yes');
    expect(log).not.toContain(password);
    expect(log).not.toMatch(/ -h | -p /);
    const copy = new URL(db.url);
    copy.pathname = `/${name}`;
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: copy.toString() });
    await client.connect();
    const count = (await client.query('SELECT count(*)::int AS n FROM orders')).rows[0].n;
    await client.end();
    expect(count).toBe(5000);
    await db.query(`DROP DATABASE "${name}" WITH (FORCE)`).catch(() => undefined);
    const admin = new pg.Client({ connectionString: inject('pgToolsUrl') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
    expect(await contentOf(db)).toHaveProperty('orders');
  });
});

describe('bad input touches nothing', () => {
  it.each([
    ['backup:restore', ['nope.dump', '--new', 'x'], 'BACKUP_NOT_FOUND', 1],
    ['backup:restore', ['not-a-dump.dump', '--new', 'x'], 'RESTORE_FAILED', 1],
    ['backup:restore', ['real.dump', '--new', 'bad name;drop'], 'INVALID_ARGUMENT', 2],
    ['backup:restore', ['real.dump', '--new', 'x', '--jobs', '0'], 'INVALID_ARGUMENT', 2],
    ['backup:restore', ['real.dump', '--yes', '--jobs', '2', '--single-transaction'], 'INVALID_ARGUMENT', 2],
    ['backup:create', ['--jobs', '0'], 'INVALID_ARGUMENT', 2],
    ['backup:create', ['--jobs', '2'], 'INVALID_ARGUMENT', 2],
    ['backup:create', ['--compress', 'zstd'], 'INVALID_ARGUMENT', 2],
    ['backup:prune', ['--keep-daily', '-1'], 'INVALID_ARGUMENT', 2],
    ['backup:verify', [], 'INVALID_ARGUMENT', 2],
  ])('%s %j → %s', async (target, args, code, exit) => {
    const dir = await tempDir('badinput');
    await writeFile(path.join(dir, 'not-a-dump.dump'), 'hello, I am text\n');
    await writeFile(path.join(dir, 'real.dump'), 'PGDMP');
    const before = (await readdir(dir)).sort();
    const result = await backupCli(target, args, db, dir);
    expect(result.code, result.stderr).toBe(exit);
    expect(result.stderr).toMatch(new RegExp(`^${code}: `));
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('a configured BACKUP_DIR that is missing or not a directory is refused; the default is created', async () => {
    const base = await tempDir('dirs');
    const missing = await backupCli('backup:create', [], db, path.join(base, 'not-mounted'));
    expect(missing.stderr).toMatch(/^BACKUP_DIR_INVALID[^]*the directory does not exist/);
    expect(existsSync(path.join(base, 'not-mounted'))).toBe(false);
    await writeFile(path.join(base, 'file'), '');
    expect((await backupCli('backup:create', [], db, path.join(base, 'file'))).stderr).toMatch(/^BACKUP_DIR_INVALID[^]*not a directory/);
    await mkdir(path.join(base, 'project'));
    const created = await backupCli('backup:create', [], db, '', { cwd: path.join(base, 'project') });
    expect(created.code, created.stderr).toBe(0);
    expect(existsSync(path.join(base, 'project', 'backups'))).toBe(true);
  });
});
