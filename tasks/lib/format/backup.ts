/** Text renderings of backup results. */
import type { BackupListEntry, PruneResult } from '../../../src/backup/catalog.js';
import type { Output } from '../cli.js';

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

export function age(msValue: number | undefined): string {
  if (msValue === undefined) return '-';
  const hours = msValue / 3_600_000;
  return hours < 48 ? `${hours.toFixed(1)}h` : `${(hours / 24).toFixed(1)}d`;
}

export function printPrune(out: Output, result: PruneResult, json: boolean): void {
  if (json) return out.json(result);
  for (const file of result.deleted) out.line(`${result.dryRun ? 'would delete' : 'deleted'} ${file}`);
  for (const k of result.kept) out.line(`kept ${k.file} (${k.reasons.join(', ')})`);
  for (const file of result.ignored) out.line(`left alone ${file} (not written by tidemark)`);
  out.line(`${result.dryRun ? 'Dry run: would delete' : 'Deleted'} ${result.deleted.length}, kept ${result.kept.length}.`);
}

export function printList(out: Output, entries: BackupListEntry[]): void {
  if (!entries.length) return out.line('No backups.');
  const rows = entries.map((e) => [
    e.file, e.managed ? `${e.kind}/${e.format}` : 'unknown', e.missing ? 'missing' : bytes(e.size), age(e.ageMs),
    e.serverVersion ?? '-', e.pgDumpVersion ?? '-', e.schemaVersion ? e.schemaVersion.version ?? 'none' : '-',
    e.tag ? `${e.tag}${e.pinned ? ' (pinned)' : ''}` : e.pinned ? 'pinned' : '-', e.status === 'not-tidemark' ? 'not tidemark' : e.verified ? 'yes' : 'no',
    e.status === 'ok' ? 'ok' : e.problem ?? e.status,
  ]);
  const header = ['FILE', 'KIND', 'SIZE', 'AGE', 'SERVER', 'PG_DUMP', 'SCHEMA', 'TAG', 'VERIFIED', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) out.line(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
}
