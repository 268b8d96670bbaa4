/**
 * restore under faults. --new NAME: NAME complete (its content that of the
 * source) and exit 0, or no NAME and no other database of the run left
 * (after a SIGKILL of the command, the next restore cleans up or names what
 * is left). --clean --yes over a database: its content afterwards is what it
 * was before or the archive's, never a mixture. A rerun always succeeds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { contentFingerprint, fingerprintDiff, withClient } from '../fingerprint.js';
import { afterChild, childPoint, inject } from '../deliver.js';
import { delayPoint, leftoverProblems, trialEnv, type LaneContext, type Point, type Scenario } from '../lane.js';
import { activeQuery, poller, sessionsEnded, type Poller } from '../watch.js';
import type { Rng } from '../rng.js';
import { createDatabase, databaseNames, dropDatabase, type PrivateServer } from '../server.js';
import {
  diedAtStartUp, errorCode, excerpt, exitProblems, exitText, finished, lingeringChildren, outputProblems, startCli, until,
  type Exit, type FaultKind,
} from '../trial.js';
import { otherContentDatabase } from './source.js';

export interface RestoreFixture {
  binDir: string;
  dir: string;
  /** Made by tidemark's backup, with its manifest. */
  custom: string;
  /** A plain SQL dump (as cron scripts write them): restored through psql. */
  sql: string;
  /** The source's content, which a complete restore reproduces. */
  archiveContent: string;
  /** A database with the same tables and other rows, the template of each --clean target, and its content. */
  before: string;
  beforeContent: string;
}

export async function restoreFixture(ctx: LaneContext, binDir: string, source: string): Promise<RestoreFixture> {
  const dir = await mkdtemp(path.join(ctx.tmpDir, '..', 'faults-archives-'));
  // Its TMPDIR is the archives' directory, removed with it: nothing of the suite's is left in the machine's /tmp.
  const made = await finished(startCli('backup:create', [], { DATABASE_URL: ctx.server.url(source), BACKUP_DIR: dir, PG_BIN_DIR: binDir, TMPDIR: dir }));
  if (made.code !== 0) throw new Error(`the archive for the restore trials could not be made: ${made.stderr}`);
  const sql = path.join(dir, 'fsrc_plain.sql');
  const connection = ['-h', '127.0.0.1', '-p', String(ctx.server.port), '-U', 'postgres'];
  execFileSync(path.join(binDir, 'pg_dump'), [...connection, '--format=plain', '--file', sql, source], { env: { ...process.env, PGPASSWORD: ctx.server.password } });
  const before = await otherContentDatabase(ctx.server, source, 'fsrc_before');
  return {
    binDir, dir, custom: made.stdout.split('\n')[0].trim(), sql,
    archiveContent: await withClient(ctx.server.url(source), contentFingerprint),
    before, beforeContent: await withClient(ctx.server.url(before), contentFingerprint),
  };
}

function choosePoint(database: string, tool: 'pg_restore' | 'psql', fault: FaultKind, r: Rng, watch: Poller): Point {
  if (fault.startsWith('kill-')) return { label: `${fault.slice(5)} running + a random moment`, wait: (run) => childPoint(run, fault, r) };
  const kind = r.pick(['delay', 'restoring', 'work'] as const);
  if (kind === 'delay') return delayPoint(r.int(0, 900));
  if (kind === 'restoring') {
    const ms = r.int(0, 400);
    return { label: `${tool} running + ${ms} ms`, wait: (run) => afterChild(run, tool, ms) };
  }
  const what = r.pick(['COPY%', 'CREATE INDEX%', 'ALTER TABLE%']);
  return { label: `"${what}" active in ${database}`, wait: (run) => until(() => activeQuery(watch, database, what), run) };
}

const content = (server: PrivateServer, db: string) => withClient(server.url(db), contentFingerprint);

interface Faulted {
  point: string;
  /** Killed by the signal before its handlers were set up. */
  startUp: boolean;
  exit: Exit;
  problems: string[];
}

/** Runs the restore with the fault at its point; the checks every restore shares (output, exit, children, sessions). */
async function faultedRestore(ctx: LaneContext, args: string[], env: Record<string, string>, target: string, fault: FaultKind, r: Rng): Promise<Faulted> {
  const watch = poller(ctx);
  try {
    const point = choosePoint(target, args[0].endsWith('.sql') ? 'psql' : 'pg_restore', fault, r, watch);
    const run = startCli('backup:restore', args, env);
    const reached = await point.wait(run);
    const injected = reached === 'reached' ? await inject(ctx, run, fault, r) : `not injected: ${reached} first`;
    const exit = await finished(run);
    await watch.close();
    const problems = outputProblems(exit, ctx.server.password);
    // After a SIGKILL of the command nothing can stop its pg_restore, which reads a file, not a pipe: it runs to its end (awaited below).
    const orphans = await lingeringChildren(env.TIDEMARK_FAULT_TRIAL);
    if (exit.signal !== 'SIGKILL') problems.push(...orphans.map((p) => `still running after the command ended: ${p}`));
    const startUp = diedAtStartUp(fault, exit, point.early ?? false);
    if (!startUp) problems.push(...exitProblems(fault, exit, fault.startsWith('kill-') ? ['RESTORE_FAILED'] : undefined));
    const lingering = await sessionsEnded(ctx);
    if (lingering) problems.push(lingering);
    if (fault !== 'SIGKILL') problems.push(...(await leftoverProblems(ctx)));
    return { point: `${point.label} (${injected})`, startUp, exit, problems };
  } finally {
    await watch.close();
  }
}

const SIGNALS: FaultKind[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];
const OTHERS: FaultKind[] = ['restart-fast', 'restart-immediate', 'stall-then-cut', 'cut'];

export function restoreNewScenario(fixture: RestoreFixture): Scenario {
  return {
    command: 'restore --new',
    faults: [...SIGNALS, 'kill-pg_restore', 'kill-psql', ...OTHERS],
    async trial(ctx, fault, r, seed) {
      const name = `fr_new_${seed}`;
      const archive = fault === 'kill-psql' || (fault !== 'kill-pg_restore' && r.chance(0.3)) ? fixture.sql : fixture.custom;
      const env = trialEnv(ctx, 'postgres', `r${seed}`, { BACKUP_DIR: fixture.dir, PG_BIN_DIR: fixture.binDir });
      const existing = await databaseNames(ctx.server);
      const args = [archive, '--new', name];
      try {
        const { point, startUp, exit, problems } = await faultedRestore(ctx, args, env, name, fault, r);
        const left = (await databaseNames(ctx.server)).filter((d) => !existing.includes(d));
        if (exit.code === 0) {
          if (!left.includes(name)) problems.push(`exit 0 but ${name} does not exist`);
          else {
            const got = await content(ctx.server, name);
            if (got !== fixture.archiveContent) problems.push(`exit 0 but ${name} is incomplete: ${fingerprintDiff(got, fixture.archiveContent)}`);
          }
          if (left.some((d) => d !== name)) problems.push(`other databases left: ${left.filter((d) => d !== name).join(', ')}`);
        } else if (left.length && exit.signal !== 'SIGKILL') problems.push(`failed (${exit.code ?? exit.signal}) and left ${left.join(', ')}`);
        if (exit.code === 0) await dropDatabase(ctx.server, name);
        // The next restore after a kill (it must clean up or name what is left); after the other faults in a sample of trials.
        if (exit.signal === 'SIGKILL' || left.length || r.chance(0.25)) {
          problems.push(...(await rerunNew(ctx, fixture, args, env, name, exit.code === 0 ? [] : left)));
        }
        const outcome = startUp ? 'killed by the signal at start-up' : exit.code === 0 ? 'complete new database'
          : !left.length ? 'no new database, nothing left'
            : exit.signal === 'SIGKILL' ? 'killed, its leftovers for the next restore' : 'failed, a database left behind';
        return { point: `${path.extname(archive)} archive, ${point}`, outcome, exit: exitText(exit), problems };
      } finally {
        for (const d of (await databaseNames(ctx.server)).filter((n) => !existing.includes(n))) await dropDatabase(ctx.server, d);
      }
    },
  };
}

/** The next restore --new: it succeeds, or (only for what a killed run left) names the leftover; every leftover is gone or named. */
async function rerunNew(ctx: LaneContext, fixture: RestoreFixture, args: string[], env: Record<string, string>, name: string, leftovers: string[]): Promise<string[]> {
  const rerun = await finished(startCli('backup:restore', args, env));
  const problems = outputProblems(rerun, ctx.server.password).map((p) => `rerun: ${p}`);
  const named = rerun.code === 1 && errorCode(rerun.stderr) === 'RESTORE_TARGET_EXISTS' && rerun.stderr.includes(name) && leftovers.includes(name);
  if (rerun.code !== 0 && !named) problems.push(`the next restore: exit ${rerun.code} ${excerpt(rerun.stderr)}`);
  if (rerun.code === 0 && (await content(ctx.server, name)) !== fixture.archiveContent) problems.push('the next restore left an incomplete database');
  const now = await databaseNames(ctx.server);
  const unnamed = leftovers.filter((d) => d !== name && now.includes(d) && !rerun.stderr.includes(d) && !rerun.stdout.includes(d));
  problems.push(...unnamed.map((d) => `leftover ${d} neither removed nor named by the next restore`));
  return [...problems, ...(await leftoverProblems(ctx, ' after the next restore'))];
}

/** The next restore --clean --yes, with no fault, brings the archive's content whatever the fault left. */
async function rerunClean(ctx: LaneContext, fixture: RestoreFixture, args: string[], env: Record<string, string>, target: string): Promise<string[]> {
  const rerun = await finished(startCli('backup:restore', args, env));
  const problems = outputProblems(rerun, ctx.server.password).map((p) => `rerun: ${p}`);
  if (rerun.code !== 0) problems.push(`the next restore: exit ${rerun.code} ${excerpt(rerun.stderr)}`);
  else if ((await content(ctx.server, target)) !== fixture.archiveContent) problems.push('after the next restore the target is not the archive\'s content');
  return [...problems, ...(await leftoverProblems(ctx, ' after the next restore'))];
}

export function restoreCleanScenario(fixture: RestoreFixture): Scenario {
  return {
    command: 'restore --clean',
    faults: [...SIGNALS, 'kill-pg_restore', ...OTHERS],
    async trial(ctx, fault, r, seed) {
      const target = await createDatabase(ctx.server, `fr_clean_${seed}`, fixture.before);
      const env = trialEnv(ctx, target, `c${seed}`, { BACKUP_DIR: fixture.dir, PG_BIN_DIR: fixture.binDir });
      const args = [fixture.custom, '--clean', '--yes'];
      try {
        const { point, startUp, exit, problems } = await faultedRestore(ctx, args, env, target, fault, r);
        const got = await content(ctx.server, target);
        const state = got === fixture.archiveContent ? 'the archive\'s content' : got === fixture.beforeContent ? 'its content before' : 'a mixture';
        if (state === 'a mixture') problems.push(`the target holds neither its content before nor the archive's: ${fingerprintDiff(got, fixture.archiveContent)}`);
        if (exit.code === 0 && state !== 'the archive\'s content') problems.push(`exit 0 but the target holds ${state}`);
        if (exit.signal === 'SIGKILL' || r.chance(0.25)) problems.push(...(await rerunClean(ctx, fixture, args, env, target)));
        return { point, outcome: startUp ? 'killed by the signal at start-up' : `target holds ${state}`, exit: exitText(exit), problems };
      } finally {
        await dropDatabase(ctx.server, target);
      }
    },
  };
}
