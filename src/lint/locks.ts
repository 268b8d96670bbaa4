/**
 * PostgreSQL's table lock modes, and what each one stops ordinary traffic
 * from doing: plain SELECTs take ACCESS SHARE, INSERT/UPDATE/DELETE take ROW
 * EXCLUSIVE, so a mode blocks reads when it conflicts with the first and
 * writes when it conflicts with the second.
 */
export const LOCK_MODES = [
  'ACCESS SHARE',
  'ROW SHARE',
  'ROW EXCLUSIVE',
  'SHARE UPDATE EXCLUSIVE',
  'SHARE',
  'SHARE ROW EXCLUSIVE',
  'EXCLUSIVE',
  'ACCESS EXCLUSIVE',
] as const;

export type LockMode = (typeof LOCK_MODES)[number];

/** The lock a statement takes, on what, and what it stops while held (or while waited for). */
export interface LockClaim {
  mode: LockMode;
  /** The table (or index) the lock is on. */
  on: string;
  blocksReads: boolean;
  blocksWrites: boolean;
}

export function lockClaim(mode: LockMode, on: string): LockClaim {
  return { mode, on, blocksReads: mode === 'ACCESS EXCLUSIVE', blocksWrites: LOCK_MODES.indexOf(mode) >= LOCK_MODES.indexOf('SHARE') };
}

/** The stronger of two modes (by conflict: later in the list conflicts with more). */
export function strongerLock(a: LockMode | undefined, b: LockMode): LockMode {
  return a === undefined || LOCK_MODES.indexOf(b) > LOCK_MODES.indexOf(a) ? b : a;
}

/** "blocks reads and writes", "blocks writes (reads go on)", "blocks neither reads nor writes". */
export function describeBlocking(lock: LockClaim): string {
  if (lock.blocksReads) return 'blocks reads and writes';
  if (lock.blocksWrites) return 'blocks writes (reads go on)';
  return 'blocks neither reads nor writes (only other DDL and VACUUM)';
}
