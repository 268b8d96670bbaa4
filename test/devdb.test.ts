import { describe, expect, it } from 'vitest';
import { chmod, mkdtemp, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { DEMO_DIR } from './helpers/migrations.js';

describe('embedded development database', () => {
  it('db:start creates and starts PostgreSQL 18 on 127.0.0.1, persistent across restarts', async () => {
    const project = await mkdtemp(path.join(tmpdir(), 'tidemark-devdb-'));
    // As root the server runs as `postgres`, which must be able to reach the project like any other directory.
    await chmod(project, 0o755);
    try {
      const started = await runCli('db:start', [], { cwd: project });
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout).toMatch(/Created and started embedded PostgreSQL on 127\.0\.0\.1:\d+, database tidemark_dev/);
      const password = (await readFile(path.join(project, '.tidemark', 'password'), 'utf8')).trim();
      expect(password.length).toBeGreaterThanOrEqual(24);
      expect((await stat(path.join(project, '.tidemark', 'password'))).mode & 0o777).toBe(0o600);
      expect(started.stdout).not.toContain(password);
      const migrated = await runCli('migrate', ['--embedded', '--dir', DEMO_DIR], { cwd: project });
      expect(migrated.stdout).toContain('Migrated from version none to 5');
      expect((await runCli('db:status', [], { cwd: project })).stdout).toMatch(/^Running: 127\.0\.0\.1:\d+/);
      expect((await runCli('db:stop', [], { cwd: project })).stdout).toContain('Stopped');
      expect((await runCli('db:status', [], { cwd: project })).stdout).toMatch(/^Stopped/);
      expect((await runCli('db:start', [], { cwd: project })).stdout).toMatch(/^Started embedded PostgreSQL/);
      const version = await runCli('migrate:version', ['--dir', DEMO_DIR], { cwd: project, env: { TIDEMARK_EMBEDDED: '1' } });
      expect(version.stdout).toBe('5\n');
      const log = await readFile(path.join(project, '.tidemark', 'postgres.log'), 'utf8');
      expect(log).toMatch(/listening on IPv4 address "127\.0\.0\.1"/);
      expect(log).not.toMatch(/listening on IPv4 address "0\.0\.0\.0"/);
    } finally {
      await runCli('db:stop', [], { cwd: project });
    }
  });
});
