/**
 * The process layer (src/pgtools/run.ts) on real programs: argv reaches the
 * program as given (no shell), the environment is the prepared one, a
 * streamed stdout is never gathered, an abort or a stop leaves no process,
 * a program that cannot start is a value, and ZX_* variables change nothing.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDatabaseUrl } from '../src/connection-string.js';
import { prepareTool } from '../src/pgtools/exec.js';
import { describeExit, offlineCommand, runTool, startTool, stopTools, type RunningTool } from '../src/pgtools/run.js';
import { backupCli, seededDatabase, tempDir } from './helpers/backup.js';
import { runCli } from './helpers/cli.js';

const PASSWORD = 'layer-s3cret:pw';

/** Gone: signal 0 finds no such process (it was reaped, not only killed). */
function gone(pid: number | undefined): boolean {
  try {
    process.kill(pid!, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The first line the program prints, once it printed it. */
function firstLine(tool: RunningTool): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    tool.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
  });
}

describe('the process layer', () => {
  it('passes every argument to the program as it is: no shell sees them', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tidemark-layer-argv-'));
    const marker = path.join(dir, 'marker');
    const args = [`$(touch ${marker})`, `\`touch ${marker}\``, `'; touch ${marker} #`, `" && touch ${marker}`, 'two words', '*', 'line\nbreak', '', '$HOME'];
    const result = await runTool(offlineCommand('printf', ['[%s]\\n', ...args]));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(args.map((arg) => `[${arg}]\n`).join(''));
    expect(existsSync(marker)).toBe(false);
  });

  it('gives the program the prepared environment, not this process\'s', async () => {
    process.env.TIDEMARK_LAYER_PROBE = 'inherited';
    try {
      const result = await runTool({ file: '/usr/bin/env', args: [], env: { ONLY_THIS: 'yes' }, cleanup: async () => undefined });
      expect(result.stdout).toBe('ONLY_THIS=yes\n');
    } finally {
      delete process.env.TIDEMARK_LAYER_PROBE;
    }
  });

  it('leaves no password in the environment of a program that connects to no server', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { DATABASE_URL: `postgres://u:${PASSWORD}@h/db`, OTHER_URL: 'postgres://app:hunter2@db/app', PGPASSWORD: PASSWORD, HOLDS_IT: `x${PASSWORD}x` });
    try {
      const result = await runTool(offlineCommand('/usr/bin/env', [], PASSWORD));
      expect(result.stdout).not.toContain(PASSWORD);
      expect(result.stdout).not.toContain('hunter2');
      expect(result.stdout).toContain('PATH=');
    } finally {
      for (const name of ['DATABASE_URL', 'OTHER_URL', 'PGPASSWORD', 'HOLDS_IT']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });

  it('streams a stdout it is asked to stream, and gathers none of it', async () => {
    const size = 64 * 1024 * 1024;
    const tool = await startTool(offlineCommand('head', ['-c', String(size), '/dev/zero']), { stdout: 'stream' });
    let bytes = 0;
    tool.stdout!.on('data', (chunk: Buffer) => (bytes += chunk.length));
    const output = await tool.output;
    expect(output.code).toBe(0);
    expect(bytes).toBe(size);
    expect(output.stdout).toBe('');
  });

  it('an abort sends the program the abort\'s signal, and it is gone when done resolves', async () => {
    const controller = new AbortController();
    const tool = await startTool(offlineCommand('sleep', ['300']), { signal: controller.signal });
    expect(gone(tool.pid)).toBe(false);
    controller.abort('SIGINT');
    expect(await tool.done).toMatchObject({ code: null, signal: 'SIGINT' });
    expect(gone(tool.pid)).toBe(true);
  });

  it('an abort sends killSignal when one is given', async () => {
    const controller = new AbortController();
    const tool = await startTool(offlineCommand('sleep', ['300']), { signal: controller.signal, killSignal: 'SIGTERM' });
    controller.abort('SIGINT');
    expect(await tool.done).toMatchObject({ signal: 'SIGTERM' });
    expect(gone(tool.pid)).toBe(true);
  });

  it('stopTools ends a program that ignores SIGTERM with SIGKILL after the grace period', async () => {
    const tool = await startTool(offlineCommand('sh', ['-c', "trap '' TERM; echo ready; exec sleep 300"]), { stdout: 'stream' });
    expect(await firstLine(tool)).toBe('ready');
    await stopTools([tool], 200);
    expect(await tool.done).toMatchObject({ signal: 'SIGKILL' });
    expect(gone(tool.pid)).toBe(true);
  });

  it('a timeout stops the program with SIGTERM, itself: no ps is run to find its process tree', async () => {
    const command = offlineCommand('/bin/sleep', ['300']);
    const savedPath = process.env.PATH;
    // zx's own kill runs ps (found on PATH) and, without it, throws from its timer and leaves the program running.
    process.env.PATH = '/nonexistent-bin';
    try {
      const result = await runTool(command, { timeoutMs: 50 });
      expect(result).toMatchObject({ code: null, signal: 'SIGTERM' });
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('a program that cannot be started is a value naming why, and its passfile is removed', async () => {
    const tmp = await mkdtemp(path.join(tmpdir(), 'tidemark-layer-tmp-'));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const target = parseDatabaseUrl(`postgres://someone:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/nowhere`);
      const cmd = await prepareTool('pg_dump', ['--version'], target, { kind: 'local' }, '/nonexistent/bin/pg_dump');
      expect(existsSync(cmd.env.PGPASSFILE!)).toBe(true);
      const exit = await (await startTool(cmd)).done;
      expect(exit).toMatchObject({ code: null, signal: null, startError: '/nonexistent/bin/pg_dump: ENOENT' });
      expect(describeExit('pg_dump', exit)).toBe('pg_dump could not be started: /nonexistent/bin/pg_dump: ENOENT');
      expect(existsSync(cmd.env.PGPASSFILE!)).toBe(false);
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
  });
});

describe('commands whose program is missing', () => {
  it('backup through PG_CONTAINER without docker: BACKUP_CLIENT_NOT_FOUND naming docker', async () => {
    const dir = await tempDir('layer-no-docker');
    const result = await backupCli('backup:create', [], undefined, dir, {
      env: { DATABASE_URL: `postgres://u:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/app`, PG_CONTAINER: 'app-db', PATH: '/nonexistent-bin' },
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^BACKUP_CLIENT_NOT_FOUND: cannot run psql in container app-db \(docker exec\)\n[^]*docker could not be started: docker: ENOENT/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    expect(await readdir(dir)).toEqual([]);
  });

  it('db:psql through PG_CONTAINER without docker: PSQL_NOT_FOUND', async () => {
    const result = await runCli('db:psql', ['-c', 'SELECT 1'], {
      env: { DATABASE_URL: `postgres://u:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/app`, PG_CONTAINER: 'app-db', PATH: '/nonexistent-bin' },
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^PSQL_NOT_FOUND: cannot start psql\n {2}operation: start psql in container app-db \(docker exec\)\n {2}error: docker: ENOENT/);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });
});

describe('ZX_* variables in the environment', () => {
  it('change nothing: no command line printed, no prefix run, the program run where and as it should be', async () => {
    const db = await seededDatabase('layer_zx_env');
    try {
      const dir = await tempDir('layer-zx-env');
      const marker = path.join(dir, 'marker');
      const result = await backupCli('backup:create', [], db, dir, {
        env: {
          ZX_VERBOSE: 'true', ZX_QUIET: 'false', ZX_PREFIX: `touch ${marker};`, ZX_POSTFIX: `; touch ${marker}`, ZX_SHELL: '/bin/false',
          ZX_CWD: '/nonexistent', ZX_TIMEOUT: '1ms', ZX_DETACHED: 'true', ZX_PREFER_LOCAL: 'true', ZX_KILL_SIGNAL: 'SIGKILL',
        },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('verified: the whole archive was read back');
      expect(result.stderr).not.toContain('pg_dump');
      expect(result.stderr).not.toContain('$ ');
      expect(existsSync(marker)).toBe(false);
    } finally {
      await db.close();
    }
  });
});
