/** The pitr commands' shared flags, and text renderings of their results. */
import type { CAC } from 'cac';
import type { ConfigInput } from '../../../src/config.js';
import type { PitrCheckResult, PitrInitResult, PitrList, PitrPruneResult, PitrRestoreResult, PitrVerifyResult, PitrBackupResult } from '../../../src/index.js';
import type { Options, Output } from '../cli.js';
import { age, bytes } from './backup.js';
import { ms } from './migrate.js';

export function withPitrOptions(cli: CAC): CAC {
  return cli
    .option('--stanza <name>', "pgBackRest's name for this cluster (PITR_STANZA, default: the database's name)")
    .option('--repo <repo>', 'the repository: a directory or s3://bucket/prefix (PITR_REPO, default BACKUP_DIR/pitr/repo)')
    .option('--data-dir <dir>', "the server's data directory (PITR_DATA_DIR, default: asked of the server)")
    .option('--pitr-dir <dir>', "where pgBackRest's configuration, log and lock files go (PITR_DIR, default BACKUP_DIR/pitr)")
    .option('--backup-dir <dir>', 'where the manifests go, beside the logical backups (BACKUP_DIR, default ./backups)')
    .option('--embedded', 'use the embedded development database (TIDEMARK_EMBEDDED=1)');
}

/** A flag's last value as text. */
export const text = (value: unknown) => (value === undefined ? undefined : String(Array.isArray(value) ? value.at(-1) : value));

/** The pitr flags as the settings loader's input. */
export function pitrInput(options: Options): ConfigInput {
  return { pitr: { stanza: text(options.stanza), repo: text(options.repo), dataDir: text(options.dataDir), pitrDir: text(options.pitrDir) } };
}

export function printInit(out: Output, r: PitrInitResult): void {
  out.line(`Stanza ${r.stanza}: pgBackRest ${r.pgbackrestVersion}, repository ${r.repository}`);
  out.line(`  configuration: ${r.configFile}`);
  out.line(`  data directory: ${r.dataDir}`);
  if (r.archive.ok) out.line('  archiving: on, into this stanza');
  else if (!r.applied) {
    out.line('  archiving: NOT set up. The server needs (postgresql.conf, or rerun with --apply as a superuser):');
    out.line(`    archive_mode = 'on'`);
    out.line(`    archive_command = '${r.archive.wanted.archive_command.replace(/'/g, "''")}'`);
  }
  if (r.applied) out.line('  archive settings applied with ALTER SYSTEM and reloaded');
  if (r.restartNeeded) out.line('  RESTART NEEDED: archive_mode takes effect when the server restarts; then run pitr:init again to check');
  out.line(r.checked ? '  check: pgBackRest pushed a WAL segment and found it in the repository' : `  check: skipped (${r.checkSkipped})`);
}

export function printBackup(out: Output, r: PitrBackupResult): void {
  const m = r.manifest;
  out.line(`${m.type} backup ${m.label} of stanza ${m.stanza}`);
  out.line(`  database ${bytes(m.size)}, ${bytes(m.repoDelta)} added to ${m.repository}, ${ms(m.durationMs)}`);
  out.line(`  WAL ${m.startWal} … ${m.stopWal}, LSN ${m.startLsn} … ${m.stopLsn}${m.tag ? `, tag ${m.tag}${m.pinned ? ' (pinned)' : ''}` : ''}`);
  out.line(`  manifest: ${r.path}`);
}

export function printList(out: Output, list: PitrList): void {
  out.line(`Stanza ${list.stanza} in ${list.repository}: ${list.status.message}`);
  if (!list.backups.length) out.line('No backups.');
  else {
    const rows = list.backups.map((b) => [b.label, b.type, b.startedAt, b.finishedAt, bytes(b.size), bytes(b.repoDelta), age(b.ageMs), b.tag ? `${b.tag}${b.pinned ? ' (pinned)' : ''}` : '-']);
    const header = ['LABEL', 'TYPE', 'STARTED', 'FINISHED', 'SIZE', 'STORED', 'AGE', 'TAG'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const row of [header, ...rows]) out.line(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  }
  const w = list.window;
  const from = w.earliest ? `${w.earliest.time} (end of ${w.earliest.backup})` : '- (no backup)';
  const to = w.latest ? `${w.latest.time ?? 'the end of the archive'} (WAL ${w.latest.wal})` : '- (no archived WAL)';
  out.line(`Recovery window: from ${from} to ${to}`);
  if (list.serverNote) out.warn(`note: ${list.serverNote}`);
}

export function printVerify(out: Output, r: PitrVerifyResult): void {
  out.line(`Stanza ${r.stanza}: OK`);
  out.line(`  pgbackrest verify: ${r.verify.backups} backup(s) and ${r.verify.walChecked} WAL segment(s) read back, every checksum matches`);
  const t = r.restoreTest;
  if (t) out.line(`  restore test: ${t.backup} restored and recovered to the end of the archive in ${ms(t.durationMs)}, started on port ${t.port}, ${t.tables} table(s) and ${bytes(t.databaseSize)} read, stopped and removed`);
}

export function printRestore(out: Output, r: PitrRestoreResult): void {
  const to = r.target.type === 'default' ? 'the end of the archive' : r.target.type === 'immediate' ? 'the end of the backup' : `${r.target.type} ${r.target.value}`;
  out.line(`Restored to ${to} into ${r.dataDir}${r.inPlace ? ' (in place)' : ''} in ${ms(r.durationMs)}`);
  if (r.started) out.line(`  started on 127.0.0.1:${r.started.port}${r.started.recovered ? ', recovery finished' : ''} (archiving off; log ${r.started.logFile})`);
  else if (!r.inPlace) out.line(`  start it: pg_ctl -D ${r.dataDir} -o "-p PORT" start (its archive_mode is off, so that it never writes into the repository)`);
}

export function printPrune(out: Output, r: PitrPruneResult): void {
  for (const label of r.expired) out.line(`${r.dryRun ? 'would expire' : 'expired'} ${label}`);
  for (const k of r.kept) out.line(`kept ${k.label} (${k.reasons.join(', ')})`);
  out.line(`${r.dryRun ? 'Dry run: would expire' : 'Expired'} ${r.expired.length}, kept ${r.kept.length}; WAL no kept backup needs goes by pgBackRest's archive retention.`);
}

export function printCheck(out: Output, r: PitrCheckResult): void {
  const a = r.archive;
  const archived = a.lastArchivedAt ? `last WAL ${a.lastArchivedWal} archived ${age(a.ageMs)} ago` : 'no WAL archived yet';
  out.line(`OK: physical ${r.newest.type} backup ${r.newest.label} is ${age(r.newest.ageMs)} old (limit ${age(r.maxAgeMs)}); ${archived}, ${a.waiting ?? '?'} segment(s) waiting`);
}
