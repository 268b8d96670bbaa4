import { TidemarkError } from '../../errors.js';
import type { ClassifiedMigration } from './classify.js';
import type { LoadedState } from './state.js';

export interface ChecksumMismatch {
  version: bigint;
  fileName: string;
  recorded: string;
  actual: string;
}

/** Applied migrations whose file changed since tidemark applied (or bootstrapped) it. */
export async function findChecksumMismatches(entries: ClassifiedMigration[]): Promise<ChecksumMismatch[]> {
  const checked = entries.filter((e) => e.state === 'applied' && e.record?.checksum && e.migration?.up);
  const mismatches: ChecksumMismatch[] = [];
  for (const e of checked) {
    const recorded = e.record!.checksum!;
    const actual = e.migration!.up!.load().checksum;
    if (actual !== recorded) mismatches.push({ version: e.version, fileName: e.migration!.up!.fileName, recorded, actual });
  }
  return mismatches;
}

export function assertNotDirty(loaded: LoadedState, operation: string): void {
  if (!loaded.state.dirty) return;
  const v = loaded.state.version === null ? 'none (-1)' : String(loaded.state.version);
  throw new TidemarkError('MIGRATION_DIRTY', `Dirty database version ${v}. Fix and force version.`, {
    operation,
    cause: `a migration run outside a transaction failed or was interrupted at version ${v}; its changes may be partly applied`,
    hint: 'inspect the schema, finish or undo the migration by hand, then `task migrate:force -- VERSION` with the version the schema really is at',
  });
}

export async function assertChecksumsMatch(entries: ClassifiedMigration[], operation: string): Promise<void> {
  const mismatches = await findChecksumMismatches(entries);
  if (!mismatches.length) return;
  throw new TidemarkError('MIGRATION_CHECKSUM_MISMATCH', 'applied migration changed', {
    operation,
    cause: mismatches.map((m) => `${m.fileName} changed after it was applied (recorded sha256 ${m.recorded.slice(0, 12)}…, file now ${m.actual.slice(0, 12)}…)`).join('\n'),
    hint: 'undo the edit and put the change in a new migration (`task migrate:create -- NAME`), or pass --ignore-checksums',
    data: { mismatches: mismatches.map((m) => ({ ...m, version: m.version.toString() })) },
  });
}

export function assertInOrder(entries: ClassifiedMigration[], current: bigint | null, operation: string): void {
  const late = entries.filter((e) => e.outOfOrder);
  if (!late.length) return;
  throw new TidemarkError('MIGRATION_OUT_OF_ORDER', 'pending migration below the current version', {
    operation,
    cause: `${late.map((e) => e.migration?.up?.fileName ?? String(e.version)).join(', ')} ${late.length === 1 ? 'is' : 'are'} not applied but numbered below the current version ${current}; golang-migrate would skip ${late.length === 1 ? 'it' : 'them'} silently`,
    hint: 'renumber the file(s) above the current version (`task migrate:create` gives the next number), or pass --allow-out-of-order to apply them now',
    data: { versions: late.map((e) => e.version.toString()) },
  });
}
