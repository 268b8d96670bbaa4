/**
 * Pure retention: which backups to keep, by the timestamps recorded in their
 * manifests (never file times). Buckets are UTC days, ISO weeks and months;
 * in each, the newest backup is kept, for the N most recent buckets that
 * have one. Pinned backups and the newest verified one are always kept.
 */
export interface RetentionPolicy {
  keepLast: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { keepLast: 0, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 };

export interface RetentionCandidate {
  id: string;
  startedAt: Date;
  pinned: boolean;
  verified: boolean;
}

export type KeepReason = 'last' | 'daily' | 'weekly' | 'monthly' | 'pinned' | 'newest-verified';

const dayKey = (d: Date) => d.toISOString().slice(0, 10);
const monthKey = (d: Date) => d.toISOString().slice(0, 7);

/** ISO 8601 week, e.g. 2026-W48. */
export function isoWeekKey(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function keepNewestPerBucket(sorted: RetentionCandidate[], count: number, key: (d: Date) => string, reason: KeepReason, keep: Map<string, KeepReason[]>): void {
  const seen = new Set<string>();
  for (const c of sorted) {
    if (seen.size >= count) break;
    const bucket = key(c.startedAt);
    if (seen.has(bucket)) continue;
    seen.add(bucket);
    keep.get(c.id)!.push(reason);
  }
}

/** For one group of comparable backups (same database and kind): the reasons to keep each; an empty list means delete. */
export function applyRetention(candidates: RetentionCandidate[], policy: RetentionPolicy): Map<string, KeepReason[]> {
  const sorted = [...candidates].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
  const keep = new Map<string, KeepReason[]>(sorted.map((c) => [c.id, []]));
  sorted.slice(0, policy.keepLast).forEach((c) => keep.get(c.id)!.push('last'));
  keepNewestPerBucket(sorted, policy.keepDaily, dayKey, 'daily', keep);
  keepNewestPerBucket(sorted, policy.keepWeekly, isoWeekKey, 'weekly', keep);
  keepNewestPerBucket(sorted, policy.keepMonthly, monthKey, 'monthly', keep);
  for (const c of sorted) if (c.pinned) keep.get(c.id)!.push('pinned');
  const newestVerified = sorted.find((c) => c.verified);
  if (newestVerified) keep.get(newestVerified.id)!.push('newest-verified');
  return keep;
}
