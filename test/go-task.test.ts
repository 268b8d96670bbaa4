/**
 * The Taskfile as users run it: the real go-task (v3.45.5, from ../shared/vendor)
 * on a scratch project that installed this package from its npm tarball and
 * includes node_modules/tidemark/Taskfile.yml, flattened beside the user's own
 * tasks, and under a namespace with an include alias.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { tempDir } from './helpers/backup.js';
import { GO_TASK, HAVE_GO_TASK, goTask, installPackage, onTerminal, runProgram, type Ran } from './helpers/go-task.js';

const commands: Record<string, { desc: string; was?: string }> = JSON.parse(readFileSync(path.join(ROOT, 'bin/commands.json'), 'utf8'));
const targets = Object.keys(commands);
const USERS_OWN = ['start', 'build', 'test', 'dev', 'lint', 'backup', 'restore'];
const RESTORE_QUESTION = 'Existing data may be overwritten.';

if (!HAVE_GO_TASK) console.warn(`test/go-task.test.ts skipped: ${GO_TASK} is missing (../shared/vendor holds the real go-task; CI always has it)`);

const flatTaskfile = `version: '3'
includes:
  tidemark:
    taskfile: ./node_modules/tidemark/Taskfile.yml
    flatten: true
tasks:
${USERS_OWN.map((name) => `  ${name}:\n    desc: The app's own ${name}\n    cmds: ['echo own ${name}']`).join('\n')}
`;
const namespacedTaskfile = `version: '3'
includes:
  tidemark:
    taskfile: ./node_modules/tidemark/Taskfile.yml
    aliases: [tm]
`;

const MIGRATION_UP = `CREATE TABLE my_table (id bigint PRIMARY KEY, tenant_id bigint, old_column text, new_column text);
INSERT INTO my_table (id, tenant_id, old_column) SELECT g, g % 2, 'Value ' || g FROM generate_series(1, 5) g;
`;

/** Output lines, each with its width. */
const widest = (text: string) => Math.max(...text.split('\n').map((line) => line.length));
const count = (text: string, part: string) => text.split(part).length - 1;

async function limited<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  }));
  return results;
}

describe.skipIf(!HAVE_GO_TASK)('the Taskfile under the real go-task', () => {
  let app: string; // flatten: true, beside the user's own tasks
  let ns: string; // under the namespace tidemark:, alias tm
  let deep: string; // app/a/b
  let db: TestDatabase;
  let backupFile: string;
  const inApp = (args: string[]) => goTask(app, args);
  const inDeep = (args: string[]) => goTask(deep, args);
  const inNs = (args: string[]) => goTask(path.join(ns, 'a/b'), args);
  const value = async (id = 1) => (await db.query('SELECT old_column AS v FROM my_table WHERE id = $1', [id])).rows[0]?.v as string | undefined;
  const ok = (ran: Ran) => expect(ran.code, `${ran.stdout}\n${ran.stderr}`).toBe(0);

  beforeAll(async () => {
    const scratch = await tempDir('go-task');
    app = path.join(scratch, 'app');
    ns = path.join(scratch, 'ns');
    deep = path.join(app, 'a/b');
    db = await createTestDatabase('go_task', inject('pgToolsUrl'));
    await installPackage(scratch, app);
    await mkdir(deep, { recursive: true });
    await mkdir(path.join(ns, 'a/b'), { recursive: true });
    await symlink(path.join(app, 'node_modules'), path.join(ns, 'node_modules'));
    const env = `DATABASE_URL=${db.url}\nPG_BIN_DIR=${inject('pgToolsBinDir')}\n`;
    await writeFile(path.join(app, '.env'), env);
    await writeFile(path.join(ns, '.env'), `${env}MIGRATIONS_DIR=${path.join(app, 'migrations')}\nBACKUP_DIR=${path.join(app, 'backups')}\n`);
    await writeFile(path.join(app, 'Taskfile.yml'), flatTaskfile);
    await writeFile(path.join(ns, 'Taskfile.yml'), namespacedTaskfile);
  });

  afterAll(async () => {
    if (app && existsSync(path.join(app, '.tidemark'))) await inApp(['db:stop']);
    await db?.close();
  });

  it("loads flattened beside the user's own start, build, test, dev, lint, backup and restore; --list is short and quiet", async () => {
    const list = await inApp(['--list']);
    ok(list);
    expect(list.stderr).toBe('');
    expect(widest(list.stdout)).toBeLessThanOrEqual(100);
    for (const name of USERS_OWN) expect(list.stdout).toMatch(new RegExp(`^\\* ${name}: +The app's own ${name}$`, 'm'));
    for (const name of targets) expect(list.stdout).toMatch(new RegExp(`^\\* ${name}: +${commands[name].desc.replace(/[().?]/g, '\\$&')}$`, 'm'));
    const own = await inDeep(['start']);
    expect([own.code, own.stdout, own.stderr]).toEqual([0, 'own start\n', 'task: [start] echo own start\n']);
  });

  it('lists every target under the namespace with its alias, and --summary gives the usage as the user calls it', async () => {
    const list = await inNs(['--list']);
    ok(list);
    for (const name of targets) expect(list.stdout).toMatch(new RegExp(`^\\* tidemark:${name}: .*\\(aliases: tm:${name}\\)$`, 'm'));
    // go-task pads every description to the longest and puts the aliases after it.
    expect(widest(list.stdout.replace(/ *\(aliases: [^)]*\)$/gm, ''))).toBeLessThanOrEqual(100);
    const summary = await inNs(['--summary', 'tm:migrate:down']);
    ok(summary);
    expect(summary.stdout).toContain('Usage: task tidemark:migrate:down -- [N | --to V | --all] [--yes] [--dry-run [--sql]]');
    expect(summary.stdout).toContain('Example: task tidemark:migrate:down -- --to');
    const flat = await inApp(['--summary', 'migrate:status']);
    expect(flat.stdout).toContain('Usage: task migrate:status -- [--json] [--exit-code]');
    expect(flat.stdout).toContain('exit 3 when anything is pending or wrong');
  });

  it("every target's --help names it once, as the user calls it, and nothing echoes the command", async () => {
    const helps = await limited(targets, 4, (name) => inNs([`tm:${name}`, '--', '--help']));
    targets.forEach((name, i) => {
      const help = helps[i];
      expect(help.code, `${name}: ${help.stderr}`).toBe(0);
      expect(help.stderr, name).toBe('');
      expect(help.stdout, name).toMatch(new RegExp(`^ {2}\\$ task tidemark:${name} --( |$)`, 'm'));
      expect(help.stdout, name).not.toContain(`${name} ${name}`);
      // The heading names the target as typed, without the `--` that opens its arguments.
      expect(help.stdout.split('\n')[0], name).toBe(`task tidemark:${name}`);
    });
  });

  it('runs in the project directory from a subdirectory two levels down; -x passes --exit-code 3 through', async () => {
    const created = await inDeep(['migrate:create', '--', 'create my table']);
    ok(created);
    expect(created.stdout).toBe('migrations/000001_create_my_table.up.sql\nmigrations/000001_create_my_table.down.sql\n');
    expect(created.stderr).toBe('');
    expect(existsSync(path.join(deep, 'migrations'))).toBe(false);
    await writeFile(path.join(app, 'migrations/000001_create_my_table.up.sql'), MIGRATION_UP);
    await writeFile(path.join(app, 'migrations/000001_create_my_table.down.sql'), 'DROP TABLE my_table;\n');
    const pending = await inDeep(['migrate:status', '--', '--exit-code']);
    expect(pending.code).toBe(201);
    expect(pending.stdout).toContain('000001_create_my_table');
    expect((await inDeep(['-x', 'migrate:status', '--', '--exit-code'])).code).toBe(3);
    ok(await inDeep(['migrate']));
    expect(await value()).toBe('Value 1');
    ok(await inDeep(['-x', 'migrate:status', '--', '--exit-code']));
    ok(await inApp(['-x', 'migrate:status', '--', '--exit-code']));
    expect((await goTask(ns, ['tm:migrate:version'])).stdout).toBe('1\n');
  });

  it('passes arguments with spaces, quotes, $(…) and ; to the command as single arguments', async () => {
    const literal = 'a b "c" it\'s $(touch pwned); `touch pwned` \\n';
    const query = await inDeep(['db:query', '--', `SELECT '${literal.replaceAll("'", "''")}' AS v`, '--json']);
    ok(query);
    expect(JSON.parse(query.stdout).rows).toEqual([{ v: literal }]);
    const name = "it's $(touch pwned); rm -rf x";
    const refused = await inDeep(['-x', 'migrate:create', '--', name]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^MIGRATION_NAME_INVALID/);
    expect(refused.stderr).toContain(`create migration "${name}"`);
    for (const dir of [app, deep]) expect(await readdir(dir)).not.toContain('pwned');
  });

  it('the safety gate runs under the namespace: migrate:lint, migrate:verify, db:schema and db:diff', async () => {
    const gate = path.join(ns, 'gate-migrations');
    await mkdir(gate, { recursive: true });
    await writeFile(path.join(gate, '1_t.up.sql'), 'CREATE TABLE gate_t (id int);\nCREATE INDEX gate_t_id ON gate_t (id);\n');
    await writeFile(path.join(gate, '1_t.down.sql'), 'DROP TABLE gate_t;\n');
    const lint = await inNs(['tm:migrate:lint', '--', '--all', '--offline', '--dir', gate]);
    ok(lint);
    expect(lint.stdout).toContain('Linted 1 file (all)');
    const verify = await inNs(['tm:migrate:verify', '--', '--all', '--dir', gate]);
    ok(verify);
    expect(verify.stdout).toContain('1 of 1 migration reversed exactly');
    const schema = await inNs(['tm:db:schema', '--', '--json']);
    ok(schema);
    expect(JSON.parse(schema.stdout).sha256).toMatch(/^[0-9a-f]{64}$/);
    const diff = await inNs(['-x', 'tm:db:diff', '--', db.url, db.url]);
    ok(diff);
  });

  it('a usage error is 201 through task and 2 through task -x; its hint names the target as the user calls it', async () => {
    const plain = await inDeep(['migrate:goto']);
    expect(plain.code).toBe(201);
    expect(plain.stderr).toMatch(/^INVALID_ARGUMENT[^]*hint: task migrate:goto -- 7\n/);
    const namespaced = await inNs(['-x', 'tm:migrate:goto']);
    expect(namespaced.code).toBe(2);
    expect(namespaced.stderr).toContain('hint: task tidemark:migrate:goto -- 7\n');
  });

  it('migrate:version, migrate:history, migrate:down, migrate:goto, migrate:force and migrate:bootstrap run under the namespace', async () => {
    expect((await inNs(['tidemark:migrate:version'])).stdout).toBe('1\n');
    expect((await inNs(['tm:migrate:history'])).stdout).toContain('1 create_my_table (current)');
    ok(await inNs(['tm:migrate:down']));
    expect((await inNs(['tm:migrate:version'])).stdout).toBe('none\n');
    ok(await inNs(['tm:migrate:goto', '--', '1']));
    const refused = await inNs(['tm:migrate:force', '--', '1']);
    expect(refused.stderr).toContain('Use --yes (-y) to run anyway.');
    const forced = await inNs(['--yes', 'tm:migrate:force', '--', '1']);
    expect(forced.stdout).toContain('Record version 1 as the current one and clear dirty, running no SQL? [assuming yes]');
    expect(forced.stdout).toContain('Forced version 1 (was 1)\n');
    const bootstrap = await inNs(['tm:migrate:bootstrap', '--', '--force', '--dry-run']);
    ok(bootstrap);
    expect(bootstrap.stdout).toContain('nothing was changed');
  });

  it('db:check, db:stats and db:psql run against the configured database', async () => {
    const check = await inDeep(['db:check']);
    ok(check);
    expect((await inDeep(['db:stats', '--', '--limit', '3'])).stdout).toContain('my_table');
    const psql = await inDeep(['db:psql', '--', '-At', '-c', "SELECT 'via ' || 'psql'"]);
    ok(psql);
    expect(psql.stdout).toBe('via psql\n');
  });

  it('backfill:create writes the template into the project from a subdirectory; backfill:list and backfill run it as shipped', async () => {
    const created = await inDeep(['backfill:create', '--', 'fill_new']);
    ok(created);
    expect(existsSync(path.join(app, 'backfills/fill_new.ts'))).toBe(true);
    const listed = await inDeep(['backfill:list']);
    ok(listed);
    expect(listed.stdout).toContain('fill_new');
    ok(await inDeep(['backfill', '--', 'fill_new', '--dry-run']));
    expect((await db.query('SELECT count(*)::int AS n FROM my_table WHERE new_column IS NULL')).rows[0].n).toBe(5);
    ok(await inDeep(['backfill', '--', 'fill_new', '--scope', 'tenant_id=1', '-q']));
    expect((await db.query('SELECT count(*)::int AS n FROM my_table WHERE new_column IS NULL')).rows[0].n).toBe(2);
  });

  it('backup:create, backup:list, backup:verify, backup:check and backup:prune', async () => {
    const made = await inDeep(['backup:create', '--', '--tag', 'pre-deploy:v1.2.3', '--json']);
    ok(made);
    backupFile = JSON.parse(made.stdout).path;
    expect(path.dirname(backupFile)).toBe(path.join(app, 'backups'));
    expect(JSON.parse((await inNs(['tm:backup:list', '--', '--json'])).stdout)[0].tag).toBe('pre-deploy:v1.2.3');
    expect((await inDeep(['backup:verify', '--', '--latest'])).stdout).toContain(': OK');
    ok(await inDeep(['backup:check']));
    ok(await inDeep(['backup:prune', '--', '--dry-run']));
    expect(existsSync(backupFile)).toBe(true);
  });

  it('backup:restore asks nothing for a new database; over the database, without a terminal, it needs task --yes', async () => {
    const copy = `${db.name}_copy`.slice(0, 63);
    const fresh = await inDeep(['backup:restore', '--', backupFile, '--new', copy]);
    ok(fresh);
    expect(fresh.stdout).toContain(`into new database ${copy}`);
    await db.query('UPDATE my_table SET old_column = $1 WHERE id = 1', ['changed']);
    const refused = await inDeep(['backup:restore', '--', backupFile, '--clean']);
    expect(refused.code).toBe(201);
    expect(refused.stderr).toContain('cancelled because it has a prompt and the environment is not a terminal. Use --yes (-y) to run anyway.');
    expect(await value()).toBe('changed');
    const yes = await inDeep(['--yes', 'backup:restore', '--', backupFile, '--clean']);
    ok(yes);
    expect(`${yes.stdout}${yes.stderr}`).toContain(`${RESTORE_QUESTION} [assuming yes]`);
    expect(yes.stdout).toContain(`Restored ${backupFile}`);
    expect(await value()).toBe('Value 1');
  });

  it('on a terminal go-task asks once: n cancels and changes nothing, y restores without a second question', async () => {
    await db.query('UPDATE my_table SET old_column = $1 WHERE id = 1', ['changed']);
    const no = await onTerminal([GO_TASK, 'backup:restore', '--', backupFile, '--clean'], deep, '[y/N]', 'n');
    expect(no.code, no.stdout).toBe(201);
    expect(count(no.stdout, RESTORE_QUESTION)).toBe(1);
    expect(no.stdout).toContain('cancelled by user');
    expect(await value()).toBe('changed');
    const yes = await onTerminal([GO_TASK, 'backup:restore', '--', backupFile, '--clean'], deep, '[y/N]', 'y');
    expect(yes.code, yes.stdout).toBe(0);
    expect(count(yes.stdout, RESTORE_QUESTION)).toBe(1);
    expect(yes.stdout).toContain(`Restored ${backupFile}`);
    expect(await value()).toBe('Value 1');
  });

  it("the bin asks with tidemark's own prompt, by its old name too: n is CANCELLED, exit 1", async () => {
    await db.query('UPDATE my_table SET old_column = $1 WHERE id = 1', ['changed']);
    const bin = path.join(app, 'node_modules/.bin/tidemark');
    const no = await onTerminal([bin, 'restore', backupFile, '--clean'], app, '[y/N]', 'n');
    expect(no.code, no.stdout).toBe(1);
    expect(count(no.stdout, RESTORE_QUESTION)).toBe(1);
    expect(no.stdout).toMatch(/CANCELLED: cancelled\r?\n {2}operation: ask for confirmation\r?\n {2}error: the answer was no; nothing was changed/);
    expect(await value()).toBe('changed');
    const help = await runProgram(bin, ['--help'], app);
    expect(help.stdout).toContain(`  backup:restore     ${commands['backup:restore'].desc} (was: restore)\n`);
  });

  it('migrate:down --all needs task --yes without a terminal', async () => {
    const refused = await inNs(['tm:migrate:down', '--', '--all']);
    expect(refused.code).toBe(201);
    expect(refused.stderr).toContain('Use --yes (-y) to run anyway.');
    expect((await inNs(['tm:migrate:version'])).stdout).toBe('1\n');
    ok(await inNs(['--yes', 'tm:migrate:down', '--', '--all']));
    expect((await inNs(['tm:migrate:version'])).stdout).toBe('none\n');
  });

  it('db:up starts the embedded PostgreSQL and applies the migrations; db:status, db:stop and db:start', async () => {
    const up = await inDeep(['db:up']);
    ok(up);
    expect(up.stdout).toMatch(/^Embedded PostgreSQL started on 127\.0\.0\.1:\d+ \(database tidemark_dev\)$/m);
    expect(up.stdout).toContain('000001_create_my_table');
    expect(existsSync(path.join(app, '.tidemark'))).toBe(true);
    expect((await inDeep(['db:status'])).stdout).toMatch(/^Running: 127\.0\.0\.1:\d+/);
    expect((await inDeep(['db:stop'])).stdout).toBe('Stopped the embedded PostgreSQL.\n');
    expect((await inDeep(['db:start'])).stdout).toMatch(/^Started embedded PostgreSQL on 127\.0\.0\.1:\d+/);
    expect((await inDeep(['db:stop'])).stdout).toBe('Stopped the embedded PostgreSQL.\n');
  });
});
