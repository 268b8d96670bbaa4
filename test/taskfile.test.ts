/**
 * Taskfile.yml and the bin as written: go-task's schema, one call per target,
 * the descriptions of bin/commands.json, usage lines that match the scripts',
 * and hints that name targets as the user calls them. Running them under the
 * real go-task is test/go-task.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { ROOT } from './helpers/cli.js';
import { asTyped, callerFrom, invocation } from '../tasks/lib/caller.js';

interface Target {
  desc: string;
  summary: string;
  silent?: boolean;
  dir?: string;
  env?: Record<string, string>;
  vars?: { QUESTION?: { sh: string } };
  prompt?: string;
  cmds: string[];
}

const SCHEMA = path.resolve(ROOT, '../shared/vendor/taskfile.schema.json');
const taskfile = parse(readFileSync(path.join(ROOT, 'Taskfile.yml'), 'utf8'));
const targets = Object.entries(taskfile.tasks as Record<string, Target>);
const commands: Record<string, { desc: string; was?: string }> = JSON.parse(readFileSync(path.join(ROOT, 'bin/commands.json'), 'utf8'));
const exec = promisify(execFile);
const BIN = path.join(ROOT, 'bin/tidemark.js');
const scriptOf = (name: string) => name.replace(':', '-');
const source = (name: string) => readFileSync(path.join(ROOT, 'tasks', `${scriptOf(name)}.ts`), 'utf8');

describe('Taskfile.yml', () => {
  it.skipIf(!existsSync(SCHEMA))("validates against go-task's schema (needs ../shared/vendor)", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
    expect(validate(taskfile), JSON.stringify(validate.errors)).toBe(true);
  });

  it('has one target per script and per entry of bin/commands.json, each under migrate, backfill, backup, pitr or db', async () => {
    const scripts = (await readdir(path.join(ROOT, 'tasks'))).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
    expect(targets.map(([name]) => scriptOf(name)).sort()).toEqual(scripts);
    expect(targets.map(([name]) => name)).toEqual(Object.keys(commands));
    for (const [name] of targets) expect(name).toMatch(/^(migrate|backfill)(:[a-z]+)?$|^(backup|pitr|db):[a-z]+$/);
  });

  it('each target is a quiet one-line call into its script, named to it, in the including project', () => {
    for (const [name, task] of targets) {
      const call = `node -- "{{.TASKFILE_DIR}}/dist/tasks/${scriptOf(name)}.js" {{.CLI_ARGS}}`;
      expect(task.silent, name).toBe(true);
      expect(task.dir, name).toBeUndefined();
      expect(task.env, name).toEqual({ TIDEMARK_TASK: '{{.TASK}}' });
      if (!task.prompt) expect(task.cmds, name).toEqual([call]);
    }
  });

  it('the targets that confirm ask through go-task: the script gives the question, and --yes once asked', () => {
    const confirming = targets.filter(([name]) => /\bconfirm\(/.test(source(name))).map(([name]) => name);
    expect(confirming).toEqual(['migrate:down', 'migrate:force', 'backup:restore', 'pitr:restore']);
    expect(targets.filter(([, task]) => task.prompt).map(([name]) => name)).toEqual(confirming);
    for (const name of confirming) {
      const task = taskfile.tasks[name] as Target;
      const call = `node -- "{{.TASKFILE_DIR}}/dist/tasks/${scriptOf(name)}.js" {{.CLI_ARGS}}`;
      expect(task.vars).toEqual({ QUESTION: { sh: `TIDEMARK_CONFIRM=question ${call}` } });
      expect(task.prompt).toBe('{{.QUESTION}}');
      expect(task.cmds).toEqual([`${call}{{if .QUESTION}} --yes{{end}}`]);
    }
  });

  it("has the desc of bin/commands.json (at most 80 characters) and a summary with the script's usage and an example", () => {
    for (const [name, task] of targets) {
      expect(task.desc, name).toBe(commands[name].desc);
      expect(task.desc.length, name).toBeLessThanOrEqual(80);
      const usage = source(name).match(new RegExp(`command\\('${name}', '([^']*)'`))![1];
      expect(task.summary, name).toContain(`\nUsage: task {{.TASK}}${usage ? ` -- ${usage}` : ''}\n`);
      expect(task.summary, name).toContain('\nEvery option: task {{.TASK}} -- --help\n');
      if (usage && !/^\[--json\]$/.test(usage)) expect(task.summary, name).toMatch(/\nExample: task \{\{\.TASK\}\} -- \S/);
    }
  });
});

describe('targets named as the user calls them', () => {
  it('takes the namespace from the task name go-task passes, whatever it is', () => {
    expect(callerFrom({})).toEqual({ prefix: undefined });
    expect(callerFrom({ TIDEMARK_TASK: 'migrate:status' })).toEqual({ prefix: '' });
    expect(callerFrom({ TIDEMARK_TASK: 'tidemark:migrate:status' })).toEqual({ prefix: 'tidemark:' });
    expect(callerFrom({ TIDEMARK_TASK: 'svc:tidemark:backup:create' })).toEqual({ prefix: 'svc:tidemark:' });
    expect(callerFrom({ TIDEMARK_TASK: 'db:db:up' })).toEqual({ prefix: 'db:' });
    expect(callerFrom({ TIDEMARK_TASK: 'migrate:migrate' })).toEqual({ prefix: 'migrate:' });
    expect(invocation({ prefix: 'tidemark:' }, 'migrate')).toBe('task tidemark:migrate --');
    expect(invocation({ prefix: undefined }, 'migrate')).toBe('tidemark migrate');
  });

  it('rewrites every `task <target>` of a hint, old names and a missing -- included', () => {
    const hint = 'run `task backup` or `task backup:verify --latest`; then task migrate:force -- 7, task restore -- f.dump --new x, or task start.';
    expect(asTyped({ prefix: 'tidemark:' }, hint)).toBe(
      'run `task tidemark:backup:create` or `task tidemark:backup:verify -- --latest`; then task tidemark:migrate:force -- 7, task tidemark:backup:restore -- f.dump --new x, or task tidemark:db:up.',
    );
    expect(asTyped({ prefix: '' }, hint)).toBe(
      'run `task backup:create` or `task backup:verify -- --latest`; then task migrate:force -- 7, task backup:restore -- f.dump --new x, or task db:up.',
    );
    expect(asTyped({ prefix: undefined }, hint)).toBe(
      'run `tidemark backup:create` or `tidemark backup:verify --latest`; then tidemark migrate:force 7, tidemark backup:restore f.dump --new x, or tidemark db:up.',
    );
    expect(asTyped({ prefix: 'tm:' }, 'task db:query -- "SELECT 1"; see task backfill:list) and task migrate')).toBe('task tm:db:query -- "SELECT 1"; see task tm:backfill:list) and task tm:migrate');
    expect(asTyped({ prefix: 'tm:' }, 'task build, task backups, a task migrated, task db:nothing')).toBe('task build, task backups, a task migrated, task db:nothing');
  });
});

describe('the tidemark bin', () => {
  it('lists every command with its description, and the old name of a renamed one', async () => {
    const { stdout } = await exec(process.execPath, [BIN, '--help']);
    for (const [name, { desc, was }] of Object.entries(commands)) {
      expect(stdout).toMatch(new RegExp(`^ {2}${name} +${desc.replace(/[().?]/g, '\\$&')}${was ? ` \\(was: ${was}\\)` : ''}$`, 'm'));
    }
  });

  it("runs every target; each one's --help names it once, as the bin calls it", async () => {
    const helps = await Promise.all(Object.keys(commands).map((name) => exec(process.execPath, [BIN, name, '--help'], { env: { ...process.env, TIDEMARK_TASK: 'ignored:migrate' } })));
    Object.keys(commands).forEach((name, i) => {
      expect(helps[i].stdout, name).toMatch(new RegExp(`^ {2}\\$ tidemark ${name}( |$)`, 'm'));
      expect(helps[i].stdout, name).not.toContain(`${name} ${name}`);
    });
  });

  it('accepts the old names start, backup and restore', async () => {
    for (const [old, name] of [['start', 'db:up'], ['backup', 'backup:create'], ['restore', 'backup:restore']]) {
      const { stdout } = await exec(process.execPath, [BIN, old, '--help']);
      expect(stdout).toContain(`$ tidemark ${name}`);
    }
  });

  it('refuses an unknown command and keeps the flags of a known one', async () => {
    const { stdout: help } = await exec(process.execPath, [BIN, 'migrate:down', '--help']);
    expect(help).toContain('--to <version>');
    const unknown = await exec(process.execPath, [BIN, 'migrate:sideways']).catch((e) => e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^INVALID_ARGUMENT/);
    const viaShebang = await exec(BIN, ['migrate:force', '-1', '--env-file', 'none.env'], { cwd: tmpdir() }).catch((e) => e);
    expect(viaShebang.stderr).toMatch(/^CONFIG_INVALID[^]*read none\.env/);
  });
});
