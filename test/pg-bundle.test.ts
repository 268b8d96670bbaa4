import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { skipCloudflareProbe } from '../build/esbuild-plugins.mjs';
import { findFreePort, initCluster, startCluster, stopCluster, type ClusterOptions } from '../src/devdb/cluster.js';
import { embeddedBinDir } from '../src/devdb/index.js';
import { ROOT, runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { migrationsDir } from './helpers/migrations.js';

/**
 * pg is bundled into the commands unmodified but for one line: its module
 * that picks the socket implementation probes for a Cloudflare Worker by
 * constructing the global `Response` (where `navigator` is missing, as on
 * Node 20), which loads Node's whole fetch implementation; the build shadows
 * `Response` in that module. These tests hold pg's behaviour under that
 * change against a real server, and that the probe is indeed gone.
 */
const execFileAsync = promisify(execFile);

// Preloaded with --require: notes every read of the global Response in the file named by TRAP_FILE.
const TRAP = `
const fs = require('node:fs');
const original = Object.getOwnPropertyDescriptor(globalThis, 'Response');
Object.defineProperty(globalThis, 'Response', {
  configurable: true,
  get() {
    fs.appendFileSync(process.env.TRAP_FILE, 'Response\\n');
    return original.get ? original.get.call(globalThis) : original.value;
  },
});
`;

// What a user of pg does: a Client and a Pool, a parameterised query, over TCP with SCRAM (and TLS with PG_TLS set).
const CLIENT = `
const pg = require('pg');
const ssl = process.env.PG_TLS ? { rejectUnauthorized: false } : undefined;
(async () => {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL, ssl });
  await client.connect();
  const sum = await client.query('SELECT $1::int + 1 AS n', [41]);
  const tls = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  await client.end();
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, ssl, max: 2 });
  const [a, b] = await Promise.all([pool.query('SELECT current_user AS who'), pool.query('SELECT pg_backend_pid() AS pid')]);
  await pool.end();
  process.stdout.write(JSON.stringify({ n: sum.rows[0].n, tls: tls.rows[0].ssl, who: a.rows[0].who, pid: typeof b.rows[0].pid }));
})().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
`;

// Node 21 and later define navigator, and pg then never reaches the Response probe.
const PROBES_RESPONSE = typeof (globalThis as { navigator?: unknown }).navigator === 'undefined';

let db: TestDatabase;
let work: string;
let trap: string;
// The client script bundled as the commands are, with the build's change to pg and without it.
let bundles: { changed: string; unmodified: string };
beforeAll(async () => {
  db = await createTestDatabase('pg_bundle');
  work = await mkdtemp(path.join(tmpdir(), 'tidemark-pg-bundle-'));
  trap = path.join(work, 'trap.cjs');
  await writeFile(trap, TRAP);
  await writeFile(path.join(work, 'client.cjs'), CLIENT);
  bundles = { changed: await bundleClient('changed', [skipCloudflareProbe]), unmodified: await bundleClient('unmodified', []) };
});
afterAll(async () => {
  await db.close();
  await rm(work, { recursive: true, force: true });
});

async function bundleClient(name: string, plugins: typeof skipCloudflareProbe[]): Promise<string> {
  const outfile = path.join(work, `${name}.cjs`);
  await build({ entryPoints: [path.join(work, 'client.cjs')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', plugins, nodePaths: [path.join(ROOT, 'node_modules')], external: ['pg-native'], logLevel: 'silent' });
  return outfile;
}

/** Runs a script with the trap preloaded: its output and whether the global Response was read. */
async function runTrapped(script: string, label: string, env: Record<string, string> = { DATABASE_URL: db.url }): Promise<{ stdout: string; touchedResponse: boolean }> {
  const trapFile = path.join(work, `${label}.touched`);
  const { stdout } = await execFileAsync(process.execPath, ['--require', trap, script], {
    env: { ...process.env, NODE_OPTIONS: '', PG_TLS: '', ...env, TRAP_FILE: trapFile },
  });
  return { stdout, touchedResponse: existsSync(trapFile) };
}

describe('pg bundled with the Cloudflare probe shadowed', () => {
  it('connects and queries through Client and Pool exactly as the unmodified pg does, without reading the global Response', async () => {
    const changed = await runTrapped(bundles.changed, 'changed');
    const unmodified = await runTrapped(bundles.unmodified, 'unmodified');
    expect(JSON.parse(changed.stdout)).toEqual({ n: 42, tls: false, who: 'postgres', pid: 'number' });
    expect(changed.stdout).toBe(unmodified.stdout);
    expect(changed.touchedResponse).toBe(false);
    // The trap does see the probe where pg makes it: the change is what keeps it away.
    expect(unmodified.touchedResponse).toBe(PROBES_RESPONSE);
  });

  it('the build shadows Response in pg\'s stream module and nowhere else', async () => {
    const bundle = await readFile(path.join(ROOT, 'dist', 'bundles', 'migrate-version.js'), 'utf8');
    expect(bundle.match(/^\s*var Response;$/gm)).toHaveLength(1);
    // The module as esbuild wraps it: from its path comment to the next module's.
    const start = bundle.search(/^\/\/ .*node_modules\/pg\/lib\/stream\.js$/m);
    expect(start).toBeGreaterThan(-1);
    const end = bundle.indexOf('\n// ', start + 1);
    const streamModule = bundle.slice(start, end === -1 ? undefined : end);
    expect(streamModule).toContain('function isCloudflareRuntime()');
    expect(streamModule).toMatch(/^\s*var Response;$/m);
  });

  it('a real command connects, reads the version and never reads the global Response', async () => {
    const { dir } = await migrationsDir({ '000001_one.up.sql': 'CREATE TABLE pg_bundle_one (id int);\n' });
    const env = { DATABASE_URL: db.url, NODE_OPTIONS: `--require ${trap}` };
    const migrated = await runCli('migrate', ['--dir', dir], { env: { ...env, TRAP_FILE: path.join(work, 'migrate.touched') } });
    expect(migrated.code, migrated.stderr).toBe(0);
    const version = await runCli('migrate:version', [], { env: { ...env, TRAP_FILE: path.join(work, 'version.touched') } });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe('1');
    expect(existsSync(path.join(work, 'migrate.touched'))).toBe(false);
    expect(existsSync(path.join(work, 'version.touched'))).toBe(false);
  });
});

describe('pg bundled with the Cloudflare probe shadowed, over TLS', () => {
  // The module the build changes also picks pg's TLS stream: a private server with ssl=on and a self-signed certificate.
  let server: ClusterOptions;
  beforeAll(async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'tidemark-pg-tls-'));
    server = {
      binDir: await embeddedBinDir(), dataDir: path.join(root, 'data'), port: await findFreePort(), user: 'postgres',
      password: `tls-pw-${Math.random().toString(36).slice(2, 10)}`, logFile: path.join(root, 'postgres.log'), settings: { ssl: 'on' },
    };
    await initCluster(server);
    const [crt, key] = [path.join(server.dataDir, 'server.crt'), path.join(server.dataDir, 'server.key')];
    await execFileAsync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', crt]);
    // The server reads them as the data directory's owner, and refuses a key others can read.
    const owner = await stat(server.dataDir);
    for (const file of [crt, key]) await chown(file, owner.uid, owner.gid);
    await chmod(key, 0o600);
    await startCluster(server);
  }, 120_000);
  afterAll(async () => {
    await stopCluster(server).catch(() => undefined);
    await rm(path.dirname(server.dataDir), { recursive: true, force: true });
  });

  it('connects over TLS and queries as the unmodified pg does, without reading the global Response', async () => {
    const env = { DATABASE_URL: `postgres://postgres:${server.password}@127.0.0.1:${server.port}/postgres`, PG_TLS: '1' };
    const changed = await runTrapped(bundles.changed, 'tls-changed', env);
    const unmodified = await runTrapped(bundles.unmodified, 'tls-unmodified', env);
    expect(JSON.parse(changed.stdout)).toEqual({ n: 42, tls: true, who: 'postgres', pid: 'number' });
    expect(changed.stdout).toBe(unmodified.stdout);
    expect(changed.touchedResponse).toBe(false);
    expect(unmodified.touchedResponse).toBe(PROBES_RESPONSE);
  });
});
