import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../src/connection-string.js';
import { parseTargetsText, schemaTarget } from '../src/fleet/targets.js';
import { schedule } from '../src/fleet/scheduler.js';
import { effectiveParallel } from '../src/fleet/run.js';
import { migrateCommand } from '../src/fleet/commands.js';
import { advisoryLockKey } from '../src/migrate/state/lock-key.js';

describe('the targets file', () => {
  const env = { APP_PW: 's3cr@t/pw:x' };

  it('reads one URL a line, skips comments and blank lines, and takes ${VAR} percent-encoded from the environment', () => {
    const text = [
      '# tenants',
      '',
      'postgres://app:${APP_PW}@db1:5432/tenant_a   # the first',
      '  postgres://app:${APP_PW}@db1:5432/shared?search_path=tenant_b',
      'postgres://app@db2/tenant_c?x-migrations-table=versions',
    ].join('\n');
    const { targets, secrets } = parseTargetsText(text, env, 'targets.txt');
    expect(targets.map((t) => [t.name, t.key])).toEqual([
      ['tenant_a', 'postgres://app:****@db1:5432/tenant_a'],
      ['shared:tenant_b', 'postgres://app:****@db1:5432/shared?search_path=tenant_b'],
      ['tenant_c', 'postgres://app@db2/tenant_c?x-migrations-table=versions'],
    ]);
    expect(targets[0].database.password).toBe('s3cr@t/pw:x');
    expect(targets[1].database.client.options).toBe('-c search_path=tenant_b');
    expect(targets[2].database.migrationsTable).toBe('versions');
    expect(secrets).toContain('s3cr@t/pw:x');
    expect(secrets).toContain(encodeURIComponent('s3cr@t/pw:x'));
  });

  it('refuses an unset variable, a line that is not a URL, the same target twice and an empty list, naming the line', () => {
    expect(() => parseTargetsText('postgres://a:${NOPE}@h/d', env, 'f')).toThrow(expect.objectContaining({ code: 'FLEET_TARGETS_INVALID', operation: 'read f line 1' }));
    expect(() => parseTargetsText('\nmysql://h/d', env, 'f')).toThrow(expect.objectContaining({ operation: 'read f line 2', reason: expect.stringContaining('unsupported scheme') }));
    expect(() => parseTargetsText('postgres://h/d\npostgres://h/d', env, 'f')).toThrow(expect.objectContaining({ reason: 'postgres://h/d is listed twice' }));
    expect(() => parseTargetsText('# only\n\n', env, 'f')).toThrow(expect.objectContaining({ reason: 'no targets: every line is blank or a comment' }));
  });

  it('a wrong password in a line never shows in the error: the URL is masked', () => {
    const err = (() => {
      try {
        parseTargetsText('postgres://u:${APP_PW}@h/', env, 'f');
      } catch (e) {
        return e as Error & { reason: string; operation: string };
      }
    })();
    expect(err?.reason).toBe('no database name in the URL path');
    expect(JSON.stringify(err)).not.toContain('s3cr');
  });

  it('a schema target is DATABASE_URL with search_path set to the schema (quoted when it must be), after any the URL sets', () => {
    const base = parseDatabaseUrl('postgres://u:pw@h:5432/app?search_path=public');
    const plain = schemaTarget(base, 'tenant_7');
    expect(plain.key).toBe('postgres://u:****@h:5432/app?search_path=tenant_7');
    expect(plain.database.client.options).toBe('-c search_path=public -c search_path=tenant_7');
    expect(schemaTarget(base, 'Tenant 8').database.client.options).toBe('-c search_path=public -c search_path="Tenant\\ 8"');
  });

  it('each tenant schema has its own golang-migrate lock key (database, schema and table)', () => {
    const keys = ['tenant_1', 'tenant_2', 'tenant_3'].map((schema) => advisoryLockKey('app', schema, 'schema_migrations'));
    expect(new Set(keys).size).toBe(3);
  });
});

describe('the scheduler', () => {
  /** Runs `count` targets, failing those listed; records the order they start and end in. */
  async function trace(count: number, failing: number[], options: Parameters<typeof schedule>[2]) {
    const log: string[] = [];
    const outcome = await schedule(count, async (i) => {
      log.push(`start ${i}`);
      await Promise.resolve();
      log.push(`end ${i}`);
      return { failed: failing.includes(i) };
    }, options);
    return { log, outcome };
  }

  it('runs canaries one at a time before the others', async () => {
    const { log } = await trace(4, [], { parallel: 4, onError: 'continue', canary: 2 });
    expect(log.slice(0, 4)).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
    expect(log.filter((l) => l.startsWith('start'))).toHaveLength(4);
  });

  it('under stop, starts nothing after a failure; under continue, everything', async () => {
    // Target 0 is still running when target 1 fails: it finishes, and nothing else starts.
    let failed: () => void = () => undefined;
    const failure = new Promise<void>((resolve) => (failed = resolve));
    const stopped = await schedule(10, async (i) => {
      if (i === 0) await failure.then(() => new Promise((resolve) => setImmediate(resolve)));
      if (i === 1) failed();
      return { failed: i === 1 };
    }, { parallel: 2, onError: 'stop', canary: 0 });
    expect(stopped).toEqual({ started: [0, 1], haltedBy: 'target 2 failed (--on-error stop)' });
    const going = await trace(10, [1], { parallel: 2, onError: 'continue', canary: 0 });
    expect(going.outcome.started).toHaveLength(10);
  });

  it('starts nothing once the signal is aborted', async () => {
    const controller = new AbortController();
    const outcome = await schedule(5, async (i) => {
      if (i === 1) controller.abort('SIGTERM');
      return { failed: false };
    }, { parallel: 1, onError: 'continue', canary: 0, signal: controller.signal });
    expect(outcome).toEqual({ started: [0, 1], haltedBy: 'SIGTERM received' });
  });

  it('lowers --parallel so that the targets never hold more than the connection cap', () => {
    expect(effectiveParallel(migrateCommand(), 8, 20)).toBe(8);
    expect(effectiveParallel(migrateCommand(), 16, 20)).toBe(10);
    expect(() => effectiveParallel(migrateCommand(), 4, 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
