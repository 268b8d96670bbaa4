/**
 * A pgBackRest repository on S3: s3rver over HTTPS on 127.0.0.1 (see
 * helpers/pitr-s3.ts), encrypted with a cipher pass, for a private
 * PostgreSQL 15 cluster. The round trip (init, backup, list, a restore
 * rehearsal), and the secrets (S3 key and secret, cipher pass, database
 * password) in no argv, output or file but the 0600 one the server's
 * archive_command reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { collect, runCli, spawnCli, type CliResult } from './helpers/cli.js';
import { createPitrCluster, HAVE_PG15, pgbackrestProcess, type PitrCluster } from './helpers/pitr-cluster.js';
import { startTestS3, type TestS3 } from './helpers/pitr-s3.js';
import { waitFor } from './helpers/wait.js';
import { pgbackrestArgs, secretEnv } from '../src/pitr/tool.js';
import { loadSettings } from '../src/config.js';

let cluster: PitrCluster;
let s3: TestS3;
let env: Record<string, string>;
const CIPHER = `cipher-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  if (!HAVE_PG15) return;
  [cluster, s3] = await Promise.all([createPitrCluster('s3', { archiveMode: 'on' }), startTestS3('tidemark-pitr')]);
  env = {
    ...cluster.env, PITR_REPO: 's3://tidemark-pitr/clusters/one', PITR_S3_ENDPOINT: s3.endpoint, PITR_S3_REGION: 'eu-west-1',
    PITR_S3_KEY: s3.key, PITR_S3_SECRET: s3.secret, PITR_S3_VERIFY_TLS: 'n', PITR_S3_URI_STYLE: 'path', PITR_CIPHER_PASS: CIPHER,
  };
});
afterAll(async () => {
  await cluster?.destroy();
  await s3?.close();
});

const secrets = () => [s3.key, s3.secret, CIPHER, cluster.password];
const cli = (target: string, args: string[] = []) => runCli(target, args, { env });
function secretFree(result: CliResult): void {
  for (const secret of secrets()) expect(`${result.stdout}\n${result.stderr}`).not.toContain(secret);
}
function ok(result: CliResult): CliResult {
  expect(result.code, result.stderr).toBe(0);
  secretFree(result);
  return result;
}

describe.skipIf(!HAVE_PG15)('pitr with an S3 repository', () => {
  it('builds argv without a secret: the key, the secret and the cipher pass go in pgBackRest\'s own variables', () => {
    const settings = loadSettings({ cwd: cluster.root, env });
    const args = pgbackrestArgs({ configFile: '/c/pgbackrest.conf', includeDir: '/c/conf.d', stanza: 'x' }, 'backup', ['--type=full']);
    for (const secret of secrets()) expect(args.join(' ')).not.toContain(secret);
    expect(secretEnv(settings.pitr)).toEqual({
      PGBACKREST_REPO1_S3_KEY: s3.key, PGBACKREST_REPO1_S3_KEY_SECRET: s3.secret, PGBACKREST_REPO1_CIPHER_TYPE: 'aes-256-cbc', PGBACKREST_REPO1_CIPHER_PASS: CIPHER,
    });
  });

  it('pitr:init creates the encrypted stanza on S3 and pgBackRest check pushes WAL there', async () => {
    const init = ok(await cli('pitr:init', ['--apply']));
    expect(init.stdout).toContain('repository s3://tidemark-pitr/clusters/one at 127.0.0.1');
    expect(init.stdout).toContain('check: pgBackRest pushed a WAL segment');
    const pitrDir = path.join(cluster.backupDir, 'pitr');
    const conf = readFileSync(path.join(pitrDir, 'pgbackrest.conf'), 'utf8');
    expect(conf).toContain('repo1-type=s3');
    for (const secret of secrets()) expect(conf).not.toContain(secret);
    const secretsFile = path.join(pitrDir, 'conf.d', 'secrets.conf');
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(secretsFile, 'utf8')).toContain(`repo1-s3-key-secret=${s3.secret}`);
    expect(readFileSync(secretsFile, 'utf8')).toContain('repo1-cipher-type=aes-256-cbc');
  });

  it('pitr:backup writes to S3 with no secret in pgBackRest\'s argv, and pitr:list reads it back', async () => {
    await cluster.query('CREATE TABLE s3_rows AS SELECT g AS id FROM generate_series(1, 1000) g');
    const child = spawnCli('pitr:backup', ['--type', 'full', '--json'], { env });
    const done = collect(child);
    const ended = done.then(() => undefined);
    const seen = await Promise.race([waitFor(async () => pgbackrestProcess(cluster.stanza, 'backup'), 'pgbackrest backup to run', 30_000), ended]);
    const result = ok(await done);
    expect(seen, 'the backup ran too briefly to be seen in /proc').toBeDefined();
    for (const secret of secrets()) expect(seen!.argv.join(' ')).not.toContain(secret);
    expect(JSON.parse(result.stdout).manifest).toMatchObject({ type: 'full', repository: expect.stringContaining('s3://tidemark-pitr/clusters/one') });
    const list = JSON.parse(ok(await cli('pitr:list', ['--json'])).stdout);
    expect(list.backups.map((b: { type: string }) => b.type)).toEqual(['full']);
    expect(list.window.earliest.backup).toBe(list.backups[0].label);
  });

  it('a command run without the secrets in its environment reads them from the 0600 file, and leaves that file alone', async () => {
    const bare = Object.fromEntries(Object.entries(env).filter(([name]) => !['PITR_S3_KEY', 'PITR_S3_SECRET', 'PITR_CIPHER_PASS'].includes(name)));
    const result = await runCli('pitr:list', ['--json'], { env: bare });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).backups).toHaveLength(1);
    secretFree(result);
    expect(readFileSync(path.join(cluster.backupDir, 'pitr', 'conf.d', 'secrets.conf'), 'utf8')).toContain(`repo1-cipher-pass=${CIPHER}`);
    // The server's archive_command still pushes into the encrypted repository.
    await cluster.archived(await cluster.switchWal());
  });

  it('pitr:verify --restore-test restores from S3 into a scratch directory, starts it and reads it', async () => {
    const result = ok(await cli('pitr:verify', ['--restore-test', '--json']));
    const verified = JSON.parse(result.stdout);
    expect(verified.restoreTest.tables).toBeGreaterThanOrEqual(1);
    expect(verified.restoreTest.removed).toBe(true);
    expect(readdirSync(cluster.rehearsals)).toEqual([]);
  });
});
