/**
 * backup under faults: no file under a final name without its manifest and
 * a matching size and SHA-256; no partial file or lock left (but after a
 * SIGKILL of the command, and then the next backup clears them and
 * succeeds); no pg_dump or pg_restore left running; 130/143 for signals,
 * BACKUP_FAILED for a dying child, a restart or a full disk; a restart at
 * a random moment after the start may instead find the server down before
 * the backup has connected: DB_CONNECT_FAILED, and then only then.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterChild, childPoint, inject } from '../deliver.js';
import { delayPoint, leftoverProblems, trialEnv, type LaneContext, type Point, type Scenario } from '../lane.js';
import { activeQuery, poller, sessionsEnded, type Poller } from '../watch.js';
import type { Rng } from '../rng.js';
import {
  diedAtStartUp, errorCode, excerpt, exitProblems, exitText, finished, lingeringChildren, outputProblems, startCli, until,
  type Exit, type FaultKind,
} from '../trial.js';
import { readBackupDir } from './backup-dir.js';

export interface BackupFixture {
  source: string;
  binDir: string;
  /** Where the trials' backup directories go. */
  base: string;
  /** A small tmpfs, for the full disk (none without root). */
  tmpfs?: string;
}

const TMPFS_KB = 1024;

/**
 * A real, small tmpfs: the backup does not fit in it. Mounting needs root
 * (as in CI); elsewhere there is no full disk to inject, and it says so.
 */
export async function mountSmallDisk(base: string): Promise<{ dir: string; unmount(): void } | undefined> {
  const dir = path.join(base, 'small-disk');
  await mkdir(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_KB}k,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    console.warn(`no full-disk faults: mounting a tmpfs failed (it needs root): ${(err as Error).message}`);
    return undefined;
  }
  return { dir, unmount: () => execFileSync('umount', [dir]) };
}

/** Empties the small disk and fills it up to a random level: where the dump runs out of space is the point. */
async function fillDisk(dir: string, r: Rng): Promise<string> {
  for (const name of await readdir(dir)) await rm(path.join(dir, name), { recursive: true, force: true });
  const fillerKb = r.int(0, TMPFS_KB - 128);
  await writeFile(path.join(dir, 'filler'), Buffer.alloc(fillerKb * 1024));
  return `${TMPFS_KB - fillerKb} KB free`;
}

function choosePoint(fixture: BackupFixture, dir: string, fault: FaultKind, r: Rng, watch: Poller): Point {
  if (fault.startsWith('kill-')) return { label: `${fault.slice(5)} running + a random moment`, wait: (run) => childPoint(run, fault, r) };
  const kind = r.pick(['delay', 'dumping', 'partial', 'copy'] as const);
  if (kind === 'delay') return delayPoint(r.int(0, 700));
  if (kind === 'dumping') {
    const ms = r.int(0, 300);
    return { label: `pg_dump running + ${ms} ms`, wait: (run) => afterChild(run, 'pg_dump', ms) };
  }
  if (kind === 'partial') {
    const kb = r.int(16, 2500);
    return { label: `partial file ≥ ${kb} KB`, wait: (run) => until(async () => {
      for (const name of await readdir(dir)) {
        if (/\.partial-\d+$/.test(name) && ((await stat(path.join(dir, name)).catch(() => undefined))?.size ?? 0) >= kb * 1024) return true;
      }
      return false;
    }, run) };
  }
  return { label: 'COPY active in pg_stat_activity', wait: (run) => until(() => activeQuery(watch, fixture.source, 'COPY%'), run) };
}

function failureCodes(fault: FaultKind, point: Point): string[] | undefined {
  // A verifier that dies leaves a dump that may be complete: kept, with a manifest that records no verification (BACKUP_VERIFY_FAILED).
  if (fault === 'kill-verifier') return ['BACKUP_FAILED', 'BACKUP_VERIFY_FAILED'];
  // Once pg_dump runs, every connection the backup needs is open: a restart then breaks the dump (BACKUP_FAILED);
  // only a restart at a moment after the start can find the server down when the backup connects (DB_CONNECT_FAILED).
  if (fault.startsWith('restart-') && point.early) return ['BACKUP_FAILED', 'DB_CONNECT_FAILED'];
  return fault.startsWith('kill-') || fault.startsWith('restart-') || fault === 'disk-full' ? ['BACKUP_FAILED'] : undefined;
}

async function dirProblems(dir: string, fault: FaultKind, exit: Exit): Promise<string[]> {
  const state = await readBackupDir(dir);
  const problems = [...state.problems];
  const killed = fault === 'SIGKILL' && exit.signal === 'SIGKILL';
  if (state.partials.length && !killed) problems.push(`partial file left: ${state.partials.join(', ')}`);
  if (state.locks.length && !killed) problems.push(`lock file left: ${state.locks.join(', ')}`);
  const unverifiedKept = errorCode(exit.stderr) === 'BACKUP_VERIFY_FAILED';
  if (exit.code === 0 && state.complete.length !== 1) problems.push(`exit 0 with ${state.complete.length} complete backups`);
  if (unverifiedKept && (state.complete.length !== 1 || state.verified.length)) {
    problems.push(`BACKUP_VERIFY_FAILED with ${state.complete.length} complete backups, ${state.verified.length} marked verified`);
  }
  if (exit.code !== 0 && !unverifiedKept && state.complete.length) {
    problems.push(`failed (${exitText(exit)}) yet a complete backup exists: ${state.complete.join(', ')}`);
  }
  return problems;
}

/** The next backup, with no fault: it clears what a killed run left and succeeds (on the full disk it fails again, but not as locked). */
async function rerunProblems(ctx: LaneContext, dir: string, fault: FaultKind, env: Record<string, string>): Promise<string[]> {
  if (fault === 'disk-full') await rm(path.join(dir, 'filler'), { force: true });
  const before = (await readBackupDir(dir)).complete.length;
  const rerun = await finished(startCli('backup:create', [], env));
  const problems = outputProblems(rerun, ctx.server.password).map((p) => `rerun: ${p}`);
  const code = errorCode(rerun.stderr);
  const expected = fault === 'disk-full' ? rerun.code === 1 && code === 'BACKUP_FAILED' : rerun.code === 0;
  if (!expected) problems.push(`the next backup: exit ${rerun.code} ${excerpt(rerun.stderr)}`);
  const state = await readBackupDir(dir);
  problems.push(...state.problems.map((p) => `after the next backup: ${p}`));
  const left = [...state.partials, ...state.locks];
  if (left.length) problems.push(`after the next backup still there: ${left.join(', ')}`);
  if (rerun.code === 0 && state.complete.length !== before + 1) problems.push('the next backup reported success without a complete backup');
  problems.push(...(await lingeringChildren(env.TIDEMARK_FAULT_TRIAL)).map((p) => `after the next backup still running: ${p}`));
  return [...problems, ...(await leftoverProblems(ctx, ' after the next backup'))];
}

function outcomeOf(fault: FaultKind, exit: Exit, startUp: boolean): string {
  if (exit.code === 0) return 'completed before the fault mattered';
  if (startUp) return 'killed by the signal at start-up';
  if (errorCode(exit.stderr) === 'BACKUP_VERIFY_FAILED') return 'dump kept, recorded unverified';
  return fault === 'SIGKILL' ? 'killed, its leftovers for the next backup' : 'no backup, nothing left';
}

const SIGNALS: FaultKind[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];

export function backupScenario(fixture: BackupFixture): Scenario {
  return {
    command: 'backup',
    faults: [...SIGNALS, 'kill-pg_dump', 'kill-verifier', 'restart-fast', 'restart-immediate', 'stall-then-cut', 'cut', ...(fixture.tmpfs ? ['disk-full' as const] : [])],
    async trial(ctx, fault, r, seed) {
      const dir = fault === 'disk-full' ? fixture.tmpfs! : await mkdtemp(path.join(fixture.base, 'b-'));
      const free = fault === 'disk-full' ? await fillDisk(dir, r) : '';
      const env = trialEnv(ctx, fixture.source, `k${seed}`, { BACKUP_DIR: dir, PG_BIN_DIR: fixture.binDir });
      const watch = poller(ctx);
      try {
        const point: Point = fault === 'disk-full' ? { label: free, wait: async () => 'reached' } : choosePoint(fixture, dir, fault, r, watch);
        const run = startCli('backup:create', [], env);
        const reached = await point.wait(run);
        const injected = reached !== 'reached' ? `not injected: ${reached} first` : fault === 'disk-full' ? 'disk full' : await inject(ctx, run, fault, r);
        const exit = await finished(run);
        await watch.close();
        const problems = outputProblems(exit, ctx.server.password);
        problems.push(...(await lingeringChildren(env.TIDEMARK_FAULT_TRIAL)).map((p) => `still running after the command ended: ${p}`));
        const startUp = diedAtStartUp(fault, exit, point.early ?? false);
        if (!startUp) problems.push(...exitProblems(fault, exit, failureCodes(fault, point)));
        problems.push(...(await dirProblems(dir, fault, exit)));
        if (fault !== 'SIGKILL') problems.push(...(await leftoverProblems(ctx)));
        const lingering = await sessionsEnded(ctx);
        if (lingering) problems.push(lingering);
        // The next backup after a kill or a full disk always; after the other faults in a sample of trials (a lock left would show as such).
        if (fault === 'SIGKILL' || fault === 'disk-full' || r.chance(0.25)) problems.push(...(await rerunProblems(ctx, dir, fault, env)));
        return { point: `${point.label} (${injected})`, outcome: outcomeOf(fault, exit, startUp), exit: exitText(exit), problems };
      } finally {
        await watch.close();
        if (fault !== 'disk-full') await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
