/**
 * `pitr:prune`: expire backups from the repository, by count (pgBackRest's
 * repo-retention-full / -diff) or by the same GFS rules as backup:prune,
 * applied to the full backups (a full that goes takes the diff and incr
 * backups that depend on it). WAL no backup needs any more goes with them:
 * pgBackRest's own archive retention decides.
 */
import type { SettingsWithoutDatabase } from '../config.js';
import { TidemarkError } from '../errors.js';
import { failed } from '../pgtools/run.js';
import { applyRetention, type KeepReason, type RetentionPolicy } from '../backup/retention.js';
import { openPitr } from './context.js';
import { readStanza, type PitrBackup } from './info.js';
import { readPitrManifests, removeManifestsOf, type PitrManifest } from './manifest.js';
import { pgbackrestFailure, runPgbackrest } from './tool.js';

export type PitrPrunePolicy =
  | { by: 'count'; keepFull: number; keepDiff?: number }
  | { by: 'gfs'; policy: RetentionPolicy };

export interface PitrPruneResult {
  dryRun: boolean;
  kept: Array<{ label: string; reasons: string[] }>;
  expired: string[];
}

/** The backups that depend on these (diff and incr on a full, incr on a diff), these included. */
function withDependents(backups: PitrBackup[], roots: Set<string>): Set<string> {
  const gone = new Set(roots);
  for (const b of backups) if (b.prior && gone.has(b.prior)) gone.add(b.label); // sorted oldest first: a prior comes before
  return gone;
}

/** What the policy expires (pure): labels, dependents included, and why each other backup stays. */
export function planPrune(backups: PitrBackup[], policy: PitrPrunePolicy, manifests: Map<string, PitrManifest> = new Map()): PitrPruneResult {
  const fulls = backups.filter((b) => b.type === 'full');
  const roots = new Set<string>();
  const reasons = new Map<string, string[]>();
  if (policy.by === 'count') {
    const newestFirst = [...fulls].reverse();
    newestFirst.forEach((b, i) => (i < policy.keepFull ? reasons.set(b.label, ['keep-full']) : roots.add(b.label)));
    if (policy.keepDiff !== undefined) {
      const diffs = backups.filter((b) => b.type === 'diff' && !roots.has(b.prior ?? '')).reverse();
      diffs.forEach((b, i) => (i < policy.keepDiff! ? reasons.set(b.label, ['keep-diff']) : roots.add(b.label)));
    }
  } else {
    const decisions = applyRetention(fulls.map((b) => ({ id: b.label, startedAt: new Date(b.startedAt), pinned: !!manifests.get(b.label)?.pinned, verified: false })), policy.policy);
    for (const [label, why] of decisions) (why.length ? reasons.set(label, why as KeepReason[]) : roots.add(label));
  }
  const expired = withDependents(backups, roots);
  const kept = backups.filter((b) => !expired.has(b.label)).map((b) => ({ label: b.label, reasons: reasons.get(b.label) ?? [`depends on ${b.prior}`] }));
  return { dryRun: false, kept, expired: backups.filter((b) => expired.has(b.label)).map((b) => b.label) };
}

function checkPolicy(policy: PitrPrunePolicy, operation: string): void {
  const values = policy.by === 'count' ? { keepFull: policy.keepFull, keepDiff: policy.keepDiff ?? 1 } : policy.policy;
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isInteger(value) || value < 0) throw new TidemarkError('INVALID_ARGUMENT', 'invalid retention', { operation, cause: `${name} must be a whole number ≥ 0, not ${value}` });
  }
  if (policy.by === 'count' && policy.keepFull < 1) throw new TidemarkError('INVALID_ARGUMENT', 'invalid retention', { operation, cause: 'keep at least one full backup (pgBackRest\'s repo-retention-full is 1 or more)' });
}

export async function pitrPrune(settings: SettingsWithoutDatabase, policy: PitrPrunePolicy, options: { dryRun?: boolean } = {}): Promise<PitrPruneResult> {
  const operation = 'prune physical backups';
  checkPolicy(policy, operation);
  const ctx = await openPitr(settings, operation);
  const info = await readStanza(ctx, operation);
  const manifests = await readPitrManifests(settings.backup.dir, ctx.stanza);
  const plan = planPrune(info.backups, policy, manifests);
  if (options.dryRun) return { ...plan, dryRun: true };
  const runs = policy.by === 'count'
    ? [[`--repo1-retention-full=${policy.keepFull}`, ...(policy.keepDiff !== undefined ? [`--repo1-retention-diff=${policy.keepDiff}`] : [])]]
    : plan.expired.filter((label) => info.backups.find((b) => b.label === label)?.type === 'full').map((label) => [`--set=${label}`]);
  for (const args of runs) {
    const result = await runPgbackrest(ctx, 'expire', args, { timeoutMs: 3_600_000 });
    if (failed(result)) throw new TidemarkError('PITR_PRUNE_FAILED', 'pgbackrest expire failed', { operation, cause: pgbackrestFailure('expire', result, ctx) });
  }
  const left = new Set((await readStanza(ctx, operation)).backups.map((b) => b.label));
  const expired = info.backups.filter((b) => !left.has(b.label)).map((b) => b.label);
  await removeManifestsOf(settings.backup.dir, ctx.stanza, expired);
  return { dryRun: false, kept: plan.kept.filter((k) => left.has(k.label)), expired };
}
