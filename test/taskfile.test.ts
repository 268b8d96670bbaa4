import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { ROOT } from './helpers/cli.js';
import { cliArgs, quoteBash } from './helpers/go-task.js';

const SCHEMA = path.resolve(ROOT, '../shared/vendor/taskfile.schema.json');
const taskfile = parse(readFileSync(path.join(ROOT, 'Taskfile.yml'), 'utf8'));
const targets = Object.entries(taskfile.tasks as Record<string, { desc: string; dir: string; cmds: string[] }>);
const exec = promisify(execFile);

/** Runs a target's command line as go-task would: variables substituted, CLI_ARGS quoted, in the user's directory. */
async function runTarget(name: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const [cmd] = taskfile.tasks[name].cmds as string[];
  const line = cmd.replace('{{.TASKFILE_DIR}}', () => ROOT).replace('{{.CLI_ARGS}}', () => cliArgs(args));
  try {
    const { stdout, stderr } = await exec('bash', ['--norc', '--noprofile', '-c', line], { cwd, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err: any) {
    return { code: err.code as number, stdout: err.stdout as string, stderr: err.stderr as string };
  }
}

describe('Taskfile.yml', () => {
  it.skipIf(!existsSync(SCHEMA))("validates against go-task's schema (needs ../shared/vendor)", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
    expect(validate(taskfile), JSON.stringify(validate.errors)).toBe(true);
  });

  it('has a desc for every target and keeps each target a one-line call into its script', async () => {
    const scripts = (await readdir(path.join(ROOT, 'tasks'))).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
    expect(targets.map(([name]) => name.replace(':', '-')).sort()).toEqual(scripts);
    for (const [name, task] of targets) {
      expect(task.desc, name).toBeTruthy();
      expect(task.dir).toBe('{{.USER_WORKING_DIR}}');
      expect(task.cmds).toEqual([`node -- "{{.TASKFILE_DIR}}/dist/tasks/${name.replace(':', '-')}.js" {{.CLI_ARGS}}`]);
    }
  });

  it.each(targets.map(([name]) => name))('%s runs through its command line (--help)', async (name) => {
    const result = await runTarget(name, ['--help'], ROOT);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`tidemark ${name}`);
  });

  it('passes arguments through go-task quoting intact', async () => {
    expect(quoteBash("it's")).toBe("$'it\\'s'");
    expect(quoteBash('Add Users')).toBe("'Add Users'");
    const project = await mkdtemp(path.join(tmpdir(), 'tidemark-taskfile-'));
    await chmod(project, 0o755);
    const created = await runTarget('migrate:create', ['Add Users'], project);
    expect(created.stdout).toBe('migrations/000001_add_users.up.sql\nmigrations/000001_add_users.down.sql\n');
    const refused = await runTarget('migrate:create', ["it's $HOME; rm -rf /"], project);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`create migration "it's $HOME; rm -rf /"`);
    const negative = await runTarget('migrate:force', ['-1', '--env-file', 'none.env'], project);
    expect(negative.stderr).toMatch(/^CONFIG_INVALID[^]*read none\.env/);
    const flags = await runTarget('migrate', ['--dry-run', '--steps', '2'], project, { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/x' });
    expect(flags.stderr).toMatch(/^DB_CONNECT_FAILED/);
  });

  it('the bin runs the same targets with the same flags', async () => {
    const { stdout } = await exec(process.execPath, [path.join(ROOT, 'bin/tidemark.js'), '--help']);
    for (const [name] of targets) expect(stdout).toContain(`  ${name}\n`);
    const { stdout: help } = await exec(process.execPath, [path.join(ROOT, 'bin/tidemark.js'), 'migrate:down', '--help']);
    expect(help).toContain('--to <version>');
    const unknown = await exec(process.execPath, [path.join(ROOT, 'bin/tidemark.js'), 'migrate:sideways']).catch((e) => e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^INVALID_ARGUMENT/);
    const viaShebang = await exec(path.join(ROOT, 'bin/tidemark.js'), ['migrate:force', '-1', '--env-file', 'none.env'], { cwd: tmpdir() }).catch((e) => e);
    expect(viaShebang.stderr).toMatch(/^CONFIG_INVALID[^]*read none\.env/);
  });
});
