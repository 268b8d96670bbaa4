/**
 * The pure parts of physical backups, fed plain values: settings, the
 * configuration text, pgBackRest's info and verify output, recovery targets,
 * retention plans and the archive verdict of backup:check.
 */
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config.js';
import { configText, secretsText, archiveCommand, isOurArchiveCommand, KEEP_ALL_FULL } from '../src/pitr/conf.js';
import { parseInfo, recoveryWindow, type PitrBackup } from '../src/pitr/info.js';
import { parseVerifyReport } from '../src/pitr/verify.js';
import { recoveryTargetArgs, targetTime } from '../src/pitr/restore.js';
import { planPrune } from '../src/pitr/prune.js';
import { archiveProblem } from '../src/pitr/check.js';
import { parsePgbackrestVersion, versionAtLeast } from '../src/pitr/tool.js';
import type { ArchiverStatus } from '../src/pitr/server.js';
import type { PitrManifest } from '../src/pitr/manifest.js';

const base = { DATABASE_URL: 'postgres://app:pw@127.0.0.1:5432/app' };
const settingsWith = (env: Record<string, string>) => loadSettings({ cwd: '/srv/app', env: { ...base, ...env } }).pitr;
const refusal = (reason: RegExp, operation?: string) => expect.objectContaining({ code: 'CONFIG_INVALID', reason: expect.stringMatching(reason), ...(operation && { operation }) });

describe('pitr settings', () => {
  it('defaults: the stanza is the database, the repository and configuration under BACKUP_DIR/pitr', () => {
    const pitr = settingsWith({});
    expect(pitr).toMatchObject({ stanza: 'app', dir: '/srv/app/backups/pitr', repo: { kind: 'path', path: '/srv/app/backups/pitr/repo' }, processMax: 1 });
    expect(settingsWith({ BACKUP_DIR: '/b', PITR_STANZA: 'main', PITR_REPO: '/r' })).toMatchObject({ stanza: 'main', dir: '/b/pitr', repo: { kind: 'path', path: '/r' } });
  });

  it('reads an S3 repository with its endpoint, port, style and secrets', () => {
    const pitr = settingsWith({ PITR_REPO: 's3://my-bucket/db/one/', PITR_S3_ENDPOINT: 'minio.local:9000', PITR_S3_KEY: 'K', PITR_S3_SECRET: 'S', PITR_S3_URI_STYLE: 'path', PITR_S3_VERIFY_TLS: 'n' });
    expect(pitr.repo).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '/db/one', endpoint: 'minio.local', port: 9000, region: 'us-east-1', key: 'K', secret: 'S', verifyTls: false, uriStyle: 'path' });
  });

  it('refuses what pgBackRest could not use, as CONFIG_INVALID naming the setting', () => {
    expect(() => settingsWith({ PITR_REPO: 's3://Bad_Bucket' })).toThrow(refusal(/not s3:\/\/bucket/, 'read PITR_REPO'));
    expect(() => settingsWith({ PITR_REPO: 's3://bucket' })).toThrow(refusal(/needs an endpoint/, 'read PITR_S3_ENDPOINT'));
    expect(() => settingsWith({ PITR_REPO: 'gs://bucket' })).toThrow(refusal(/neither a directory nor/));
    expect(() => settingsWith({ PITR_RETENTION_FULL: '0' })).toThrow(refusal(/at least 1/, 'read PITR_RETENTION_FULL'));
    expect(() => settingsWith({ PITR_COMPRESS: 'xz' })).toThrow(refusal(/not one of/));
    expect(() => settingsWith({ PITR_STANZA: 'a b' })).toThrow(refusal(/not a usable stanza name/, 'read PITR_STANZA'));
  });
});

describe('pgBackRest configuration', () => {
  it('holds the repository, retention and cluster, never a secret; the secrets file holds them', () => {
    const pitr = settingsWith({ PITR_REPO: 's3://bkt/p', PITR_S3_ENDPOINT: 'e', PITR_S3_KEY: 'KEYVALUE', PITR_S3_SECRET: 'SECRETVALUE', PITR_CIPHER_PASS: 'CIPHERVALUE', PITR_RETENTION_DIFF: '3' });
    const text = configText(pitr, 'app', { dataDir: '/var/lib/pg', port: 5433, socketDir: '/run/pg', user: 'app', database: 'app' });
    expect(text).toContain('repo1-type=s3\nrepo1-path=/p\nrepo1-s3-bucket=bkt');
    expect(text).toContain(`repo1-retention-full=${KEEP_ALL_FULL}`);
    expect(text).toContain('repo1-retention-diff=3');
    expect(text).not.toContain('cipher');
    expect(text).toContain('[app]\npg1-path=/var/lib/pg\npg1-port=5433\npg1-socket-path=/run/pg\npg1-user=app\npg1-database=app');
    for (const secret of ['KEYVALUE', 'SECRETVALUE', 'CIPHERVALUE']) expect(text).not.toContain(secret);
    expect(secretsText(pitr)).toBe('# Written by tidemark: the repository\'s secrets, for the server\'s archive_command.\n[global]\nrepo1-s3-key=KEYVALUE\nrepo1-s3-key-secret=SECRETVALUE\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=CIPHERVALUE\n');
    expect(secretsText(settingsWith({}))).toBeUndefined();
  });

  it('quotes the archive_command for the shell and recognises it', () => {
    const pitr = settingsWith({ PITR_DIR: "/srv/it's here" });
    const command = archiveCommand('/usr/bin/pgbackrest', pitr, 'app');
    expect(command).toBe("/usr/bin/pgbackrest '--config=/srv/it'\\''s here/pgbackrest.conf' '--config-include-path=/srv/it'\\''s here/conf.d' --stanza=app archive-push %p");
    expect(isOurArchiveCommand(command, pitr, 'app')).toBe(true);
    expect(isOurArchiveCommand(command, pitr, 'other')).toBe(false);
    expect(isOurArchiveCommand('cp %p /archive/%f', pitr, 'app')).toBe(false);
  });

  it('reads pgBackRest versions', () => {
    expect(parsePgbackrestVersion('pgBackRest 2.45\n')).toBe('2.45');
    expect(versionAtLeast('2.45', '2.33')).toBe(true);
    expect(versionAtLeast('2.4', '2.33')).toBe(false);
    expect(versionAtLeast('3.0', '2.33')).toBe(true);
  });
});

const backup = (label: string, type: PitrBackup['type'], day: string, prior?: string): PitrBackup => ({
  label, type, prior, startedAt: `${day}T01:00:00.000Z`, finishedAt: `${day}T01:05:00.000Z`, size: 1, delta: 1, repoSize: 1, repoDelta: 1,
  startLsn: '0/1', stopLsn: '0/2', startWal: 'a', stopWal: 'b', error: false,
});

describe('pgBackRest info', () => {
  it('reads backups, the archive and the recovery window', () => {
    const json = JSON.stringify([{
      name: 'app', cipher: 'none', status: { code: 0, message: 'ok', lock: { backup: { held: false } } }, db: [{ version: '15' }],
      archive: [{ min: '000000010000000000000001', max: '000000010000000000000009' }],
      backup: [{ label: 'F1', type: 'full', prior: null, annotation: { tag: 'pin:x' }, timestamp: { start: 1796167930, stop: 1796167933 }, lsn: { start: '0/2000028', stop: '0/3000050' }, archive: { start: 'a', stop: 'b' }, info: { size: 10, delta: 10, repository: { size: 3, delta: 3 } } }],
    }]);
    const info = parseInfo(json, 'app');
    expect(info.backups).toEqual([expect.objectContaining({ label: 'F1', type: 'full', tag: 'pin:x', finishedAt: '2026-12-01T23:32:13.000Z', stopLsn: '0/3000050', repoSize: 3 })]);
    expect(recoveryWindow(info, '2026-12-02T00:00:00.000Z')).toEqual({
      earliest: { time: '2026-12-01T23:32:13.000Z', lsn: '0/3000050', backup: 'F1' },
      latest: { wal: '000000010000000000000009', time: '2026-12-02T00:00:00.000Z' },
    });
    expect(parseInfo(json, 'other').status.code).toBe(1);
    const broken = '[{"name":"app","cipher":"none","status":{"code":99,"message":"other"},"backup":[],"archive":[],"db":[],'
      + '"repo":[{"status":{"code":99,"message":"[FormatError] unable to load info file\nHINT: has a stanza-create been performed?"}}]}]';
    expect(parseInfo(broken, 'app').status).toEqual({ code: 99, message: '[FormatError] unable to load info file HINT: has a stanza-create been performed?' });
  });

  it('reads verify\'s report: ok, or the lines that say what is damaged', () => {
    const good = 'stanza: app\nstatus: ok\n  archiveId: 15-1, total WAL checked: 5, total valid WAL: 5\n  backup: F1, status: valid, total files checked: 9, total valid files: 9\n    missing: 0, checksum invalid: 0, size invalid: 0, other: 0\n';
    expect(parseVerifyReport(good)).toEqual({ ok: true, backups: 1, walChecked: 5, problems: [] });
    const bad = 'stanza: app\nstatus: error\n  backup: F1, status: invalid, total files checked: 9, total valid files: 8\n    checksum invalid: 1\n';
    expect(parseVerifyReport(bad)).toMatchObject({ ok: false, problems: ['status: error', 'backup: F1, status: invalid, total files checked: 9, total valid files: 8', 'checksum invalid: 1'] });
  });
});

describe('recovery targets', () => {
  it('turns each target into pgBackRest options that promote at the target', () => {
    expect(recoveryTargetArgs({ to: '2026-12-01T10:00:00.250Z' }).args).toEqual(['--type=time', '--target=2026-12-01 10:00:00.250+00', '--target-action=promote']);
    expect(recoveryTargetArgs({ lsn: '0/3000060' }).args).toEqual(['--type=lsn', '--target=0/3000060', '--target-action=promote']);
    expect(recoveryTargetArgs({ xid: '1234' }).args).toEqual(['--type=xid', '--target=1234', '--target-action=promote']);
    expect(recoveryTargetArgs({ immediate: true }).args).toEqual(['--type=immediate', '--target-action=promote']);
    expect(recoveryTargetArgs({})).toEqual({ args: [], described: { type: 'default' } });
    expect(targetTime('2026-12-01 10:00:00+02:00')).toBe('2026-12-01 10:00:00+02:00');
    expect(targetTime('2026-12-01 23:56:43.837477+00')).toBe('2026-12-01 23:56:43.837477+00');
    expect(targetTime('2026-12-01T23:56:43.8Z')).toBe('2026-12-01 23:56:43.8+00');
    expect(targetTime(new Date('2026-12-01T08:00:00Z'))).toBe('2026-12-01 08:00:00.000+00');
    expect(targetTime('2026-12-01T10:00:00')).toBe(targetTime(new Date(2026, 11, 1, 10, 0, 0)));
  });

  it('refuses two targets, a time that is none, an LSN that is none', () => {
    const refused = (reason: RegExp) => expect.objectContaining({ code: 'INVALID_ARGUMENT', reason: expect.stringMatching(reason) });
    expect(() => recoveryTargetArgs({ to: '2026-12-01', immediate: true })).toThrow(refused(/at most one/));
    expect(() => recoveryTargetArgs({ to: 'yesterday-ish' })).toThrow(refused(/is not a time/));
    expect(() => recoveryTargetArgs({ to: '2026-13-45 10:00:00+00' })).toThrow(refused(/is not a time/));
    expect(() => recoveryTargetArgs({ lsn: '3000060' })).toThrow(refused(/not an LSN/));
  });
});

describe('pitr retention plans', () => {
  const chain = [
    backup('F1', 'full', '2026-11-01'), backup('F1_D1', 'diff', '2026-11-02', 'F1'), backup('F1_D1_I1', 'incr', '2026-11-03', 'F1_D1'),
    backup('F2', 'full', '2026-11-20'), backup('F2_I1', 'incr', '2026-11-21', 'F2'),
    backup('F3', 'full', '2026-11-30'), backup('F3_D1', 'diff', '2026-12-01', 'F3'), backup('F3_D2', 'diff', '2026-12-01', 'F3'),
  ];

  it('by count: an expired full takes what depends on it; diff retention keeps the newest diffs', () => {
    const plan = planPrune(chain, { by: 'count', keepFull: 2 });
    expect(plan.expired).toEqual(['F1', 'F1_D1', 'F1_D1_I1']);
    expect(plan.kept.find((k) => k.label === 'F2_I1')!.reasons).toEqual(['depends on F2']);
    expect(planPrune(chain, { by: 'count', keepFull: 2, keepDiff: 1 }).expired).toEqual(['F1', 'F1_D1', 'F1_D1_I1', 'F3_D1']);
  });

  it('by GFS: the rules of backup:prune over the full backups, pinned ones kept', () => {
    const pinned = new Map([['F1', { pinned: true } as PitrManifest]]);
    const plan = planPrune(chain, { by: 'gfs', policy: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 } }, pinned);
    expect(plan.expired).toEqual(['F2', 'F2_I1']);
    expect(plan.kept.filter((k) => !k.reasons[0].startsWith('depends')).map((k) => [k.label, k.reasons])).toEqual([['F1', ['pinned']], ['F3', ['last']]]);
  });
});

describe('archive verdict of backup:check', () => {
  const pitr = settingsWith({});
  const ours = archiveCommand('/usr/bin/pgbackrest', pitr, 'app');
  const status = (over: Partial<ArchiverStatus>): ArchiverStatus => ({
    archiveMode: 'on', archiveCommand: ours, failedCount: 0, waiting: 0, now: '2026-12-01T12:00:00.000Z',
    lastArchivedWal: '000000010000000000000009', lastArchivedAt: '2026-12-01T11:00:00.000Z', ...over,
  });

  it('an idle server that archived long ago is fine: nothing waits', () => {
    expect(archiveProblem(status({}), pitr, 'app', 900_000)).toBeUndefined();
  });

  it('archiving off, another command, failures after the last success, or a segment waiting too long', () => {
    expect(archiveProblem(status({ archiveMode: 'off' }), pitr, 'app', 900_000)).toMatch(/archive_mode is off/);
    expect(archiveProblem(status({ archiveCommand: '/bin/true' }), pitr, 'app', 900_000)).toMatch(/does not push into stanza app.*\/bin\/true/);
    expect(archiveProblem(status({ lastFailedAt: '2026-12-01T11:30:00.000Z', lastFailedWal: '00000001000000000000000A', failedCount: 4, waiting: 1 }), pitr, 'app', 900_000))
      .toBe('archiving fails: 00000001000000000000000A failed at 2026-12-01T11:30:00.000Z (4 failures so far); the last segment archived was 000000010000000000000009 at 2026-12-01T11:00:00.000Z');
    expect(archiveProblem(status({ waiting: 3, oldestWaitingAt: '2026-12-01T11:40:00.000Z' }), pitr, 'app', 900_000)).toMatch(/^3 WAL segment\(s\) wait to be archived, the oldest for 20m \(limit 15m\)/);
    expect(archiveProblem(status({ waiting: 3, oldestWaitingAt: '2026-12-01T11:50:00.000Z' }), pitr, 'app', 900_000)).toBeUndefined();
  });
});
