/**
 * migrate under faults. Transactional files: the database is always at a
 * clean version V whose schema is exactly migrations 1..V, the history
 * agrees, and a rerun reaches the latest. The no-transaction file: clean,
 * or dirty at its version with the statements that ran (and the message
 * saying how many), recovered by repair + migrate:force + migrate.
 */
import { fingerprintDiff, withClient } from '../fingerprint.js';
import { inject } from '../deliver.js';
import { delayPoint, leftoverProblems, trialEnv, type LaneContext, type Point, type Scenario } from '../lane.js';
import { activeQuery, poller, sessionsEnded, type Poller } from '../watch.js';
import type { Rng } from '../rng.js';
import { emptyDatabase } from '../server.js';
import {
  diedAtStartUp, errorCode, excerpt, exitProblems, exitText, finished, outputProblems, randomPause, startCli, until,
  type Exit, type FaultKind,
} from '../trial.js';
import { NO_TX_DOWN, NO_TX_STATEMENTS, NO_TX_VERSION, type MigrationSet } from './migrations.js';
import { claimedStates, readState, statementsSaidToRun, versionText, type MigrationState } from './migrate-state.js';

// Signals are cheap trials, restarts and stalls slow ones: signals come up three times as often.
const SIGNALS: FaultKind[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];
const FAULTS: FaultKind[] = [...SIGNALS, ...SIGNALS, ...SIGNALS, 'restart-fast', 'restart-immediate', 'stall-then-cut', 'cut'];

function choosePoint(set: MigrationSet, db: string, r: Rng, watch: Poller): Point {
  const n = set.files.length;
  const kind = r.pick(['delay', 'connected', 'applied', 'during'] as const);
  if (kind === 'delay') return delayPoint(r.int(0, 400));
  if (kind === 'connected') {
    // Node.js takes a while to start on a busy machine: a delay counted from the command's first session falls into its work.
    const ms = r.int(0, 300);
    return { label: `session open + ${ms} ms`, wait: async (run) => {
      const reached = await until(async () => (await watch.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name = 'tidemark'", [db])).length > 0, run);
      if (reached === 'reached') await randomPause(ms);
      return reached === 'reached' && run.exited ? 'exited' : reached;
    } };
  }
  if (kind === 'applied') {
    const k = r.int(1, n - 1);
    const extra = r.int(0, 20);
    return { label: `"applied ${k}" on stdout + ${extra} ms`, wait: async (run) => {
      const reached = await until(() => new RegExp(`applied ${k} `).test(run.stdout), run);
      if (reached === 'reached') await randomPause(extra);
      return reached;
    } };
  }
  // A migration with a pause in it, or a statement of the no-transaction file (sent alone, without the file's marker), runs on the server.
  const pattern = set.partial.length
    ? r.pick(['%CONCURRENTLY accounts_created_email%', '%pg_sleep(0.03)%', '%accounts_email_lower%'])
    : `%fault step ${r.pick([4, 6])}%`;
  return { label: `"${pattern}" active in pg_stat_activity`, wait: (run) => until(() => activeQuery(watch, db, pattern), run) };
}

/** The interruption message names the version the database is at (or, at none, that nothing was applied). */
function saysVersion(text: string, version: number | null): boolean {
  if (text.includes(`version ${versionText(version)}`)) return true;
  return version === null && /no version|nothing (was )?(applied|changed)|no migrations? (was |were )?applied/i.test(text);
}

function stateProblems(set: MigrationSet, state: MigrationState, exit: Exit, fault: FaultKind): string[] {
  const problems: string[] = [];
  const v = state.version ?? 0;
  if (!state.dirty) {
    if (state.fingerprint !== set.fingerprints[v]) {
      problems.push(`schema is not that of migrations 1..${v}: ${fingerprintDiff(state.fingerprint, set.fingerprints[v])}`);
    }
    if ((state.historyTo ?? null) !== state.version) {
      problems.push(`history's last row says ${state.historyTo ?? 'nothing'}, version row says ${versionText(state.version)}`);
    }
  } else problems.push(...dirtyProblems(set, state, exit, fault));
  for (const claim of claimedStates(exit.stderr)) {
    if (claim.version !== versionText(state.version) || claim.dirty !== state.dirty) {
      problems.push(`the message claims "${claim.words}" but the database is ${state.dirty ? 'dirty ' : ''}at version ${versionText(state.version)}`);
    }
  }
  if ((exit.code === 130 || exit.code === 143) && !saysVersion(exit.stderr, state.version)) {
    problems.push(`the interruption message does not say the version (${versionText(state.version)}): ${excerpt(exit.stderr)}`);
  }
  if (exit.code === 0 && (state.version !== set.files.length || state.dirty)) problems.push(`exit 0 but the database is at ${versionText(state.version)}`);
  return problems;
}

/**
 * Dirty is allowed only at the no-transaction file, with its first k
 * statements applied and the message saying k (a statement that changes no
 * schema makes several k fit), and an invalid index only from a CREATE
 * INDEX CONCURRENTLY cut short.
 */
function dirtyProblems(set: MigrationSet, state: MigrationState, exit: Exit, fault: FaultKind): string[] {
  if (!set.partial.length || state.version !== NO_TX_VERSION) return [`dirty at version ${versionText(state.version)}, which runs in a transaction`];
  const fits = set.partial.flatMap((p, k) => (p === state.validFingerprint ? [k] : []));
  if (!fits.length) {
    return [`dirty, but the schema is no prefix of the no-transaction file's statements: ${fingerprintDiff(state.validFingerprint, set.partial[0])}`];
  }
  const problems: string[] = [];
  for (const index of state.invalidIndexes) {
    if (!fits.some((k) => (NO_TX_STATEMENTS[k] ?? '').includes(`CONCURRENTLY ${index} `))) problems.push(`invalid index ${index} left by no statement in flight`);
  }
  if (state.historyTo !== NO_TX_VERSION - 1) problems.push(`dirty at ${NO_TX_VERSION} but the history's last row says ${state.historyTo ?? 'nothing'}`);
  if (fault !== 'SIGKILL' && exit.code !== 0) {
    const said = statementsSaidToRun(exit.stderr, NO_TX_STATEMENTS.length);
    // After a lost connection the message says the statement in flight may have completed: one more fits too.
    const inFlight = /was running when the connection was lost: it may have completed/.test(exit.stderr);
    const saidFits = said !== undefined && (fits.includes(said) || (inFlight && fits.includes(said + 1)));
    if (!saidFits) {
      problems.push(`${fits.join(' or ')} statement(s) ran, the message says ${said ?? 'nothing about it'}: ${excerpt(exit.stderr)}`);
    }
    if (!/dirty/.test(exit.stderr)) problems.push(`the message does not say the database is dirty: ${excerpt(exit.stderr)}`);
  }
  return problems;
}

async function runToEnd(ctx: LaneContext, args: string[], db: string, marker: string): Promise<Exit> {
  return finished(startCli(args[0], args.slice(1), trialEnv(ctx, db, marker)));
}

/** After the fault, with no fault: a dirty database is reported, repaired as the hint says, forced; then migrate reaches the latest. */
async function recoveryProblems(ctx: LaneContext, set: MigrationSet, db: string, marker: string, dirty: boolean): Promise<string[]> {
  const problems: string[] = [];
  if (dirty) {
    const refused = await runToEnd(ctx, ['migrate', '--dir', set.dir], db, marker);
    if (refused.code !== 1 || errorCode(refused.stderr) !== 'MIGRATION_DIRTY') {
      problems.push(`migrate on the dirty database: expected MIGRATION_DIRTY, got exit ${refused.code} ${excerpt(refused.stderr)}`);
    }
    const version = await runToEnd(ctx, ['migrate:version', '--dir', set.dir], db, marker);
    if (version.stdout.trim() !== `${NO_TX_VERSION} (dirty)`) problems.push(`migrate:version says "${version.stdout.trim()}", not "${NO_TX_VERSION} (dirty)"`);
    await withClient(ctx.server.url(db), (c) => c.query(NO_TX_DOWN));
    const forced = await runToEnd(ctx, ['migrate:force', String(NO_TX_VERSION - 1), '--yes', '--dir', set.dir], db, marker);
    if (forced.code !== 0) problems.push(`migrate:force failed: ${excerpt(forced.stderr)}`);
  }
  const rerun = await runToEnd(ctx, ['migrate', '--dir', set.dir, '--lock-timeout', '15s'], db, marker);
  const state = await withClient(ctx.server.url(db), readState);
  const n = set.files.length;
  if (rerun.code !== 0) problems.push(`the rerun failed: exit ${rerun.code} ${excerpt(rerun.stderr)}`);
  if (state.version !== n || state.dirty || state.fingerprint !== set.fingerprints[n]) {
    const schema = fingerprintDiff(state.fingerprint, set.fingerprints[n]) || 'schema of the latest';
    problems.push(`after the rerun: ${state.dirty ? 'dirty ' : ''}at ${versionText(state.version)}, ${schema}`);
  }
  return [...problems, ...outputProblems(rerun, ctx.server.password).map((p) => `rerun: ${p}`)];
}

function outcomeOf(set: MigrationSet, state: MigrationState, exit: Exit, startUp: boolean): string {
  if (startUp && state.version === null) return 'killed by the signal at start-up, nothing applied';
  if (exit.code === 0) return 'completed before the fault mattered';
  if (state.dirty) return 'dirty at the no-transaction file';
  return state.version === set.files.length ? 'at the latest version' : 'at an earlier clean version';
}

export function migrateScenario(command: string, set: MigrationSet): Scenario {
  return {
    command,
    faults: FAULTS,
    async trial(ctx, fault, r, seed) {
      const db = await emptyDatabase(ctx.server, `fm_${command.replace(/\W+/g, '_')}`);
      const marker = `m${seed}`;
      const watch = poller(ctx);
      try {
        const point = choosePoint(set, db, r, watch);
        const run = startCli('migrate', ['--dir', set.dir], trialEnv(ctx, db, marker));
        const reached = await point.wait(run);
        const injected = reached === 'reached' ? await inject(ctx, run, fault, r) : `not injected: ${reached} first`;
        const exit = await finished(run);
        await watch.close();
        const lingering = await sessionsEnded(ctx);
        const state = await withClient(ctx.server.url(db), readState);
        const startUp = diedAtStartUp(fault, exit, point.early ?? false);
        const problems = [...outputProblems(exit, ctx.server.password), ...stateProblems(set, state, exit, fault), ...(lingering ? [lingering] : [])];
        if (!startUp) problems.push(...exitProblems(fault, exit));
        else if (state.version !== null) problems.push(`died of ${fault} without a word, yet a version is recorded: no handler?`);
        problems.push(...(await recoveryProblems(ctx, set, db, marker, state.dirty)));
        problems.push(...(await leftoverProblems(ctx)));
        return { point: `${point.label} (${injected})`, outcome: outcomeOf(set, state, exit, startUp), exit: exitText(exit), problems };
      } finally {
        await watch.close();
      }
    },
  };
}
