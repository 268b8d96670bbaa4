/**
 * Delivering a fault to a running command: a signal to it, SIGKILL to one
 * of its children, a restart of its server, a stall or a cut of its
 * connections.
 */
import { findChild, sendSignal, type ChildKind } from './inject.js';
import type { LaneContext } from './lane.js';
import type { Rng } from './rng.js';
import { randomPause, until, type FaultKind, type Reached, type RunningCli } from './trial.js';

const CHILD_OF: Partial<Record<FaultKind, ChildKind>> = {
  'kill-pg_dump': 'pg_dump', 'kill-verifier': 'verifier', 'kill-pg_restore': 'pg_restore', 'kill-psql': 'psql',
};

/** A point: the command's child of that kind running, then `ms` more. */
export async function afterChild(run: RunningCli, kind: ChildKind, ms: number): Promise<Reached> {
  const reached = await until(() => !!findChild(run.pid, kind), run);
  if (reached === 'reached') await randomPause(ms);
  return reached === 'reached' && run.exited ? 'exited' : reached;
}

/** For a child fault the point is the child's existence, then a random moment of its life. */
export const childPoint = (run: RunningCli, fault: FaultKind, r: Rng) => afterChild(run, CHILD_OF[fault]!, r.int(0, 150));

/** Delivers the fault (the point already reached); says what it did. */
export async function inject(ctx: LaneContext, run: RunningCli, fault: FaultKind, r: Rng): Promise<string> {
  if (fault === 'SIGINT' || fault === 'SIGTERM' || fault === 'SIGKILL') return sendSignal(run.pid, fault) ? fault : 'command gone first';
  const kind = CHILD_OF[fault];
  if (kind) {
    const child = findChild(run.pid, kind);
    return child && sendSignal(child.pid, 'SIGKILL') ? `SIGKILL ${kind} ${child.pid}` : `${kind} gone first`;
  }
  if (fault === 'restart-fast') await ctx.server.restart('fast');
  else if (fault === 'restart-immediate') await ctx.server.restart('immediate');
  else if (fault === 'cut') ctx.proxy.cut();
  else if (fault === 'stall-then-cut') {
    ctx.proxy.stall();
    const stallMs = r.int(100, 3000);
    await randomPause(stallMs);
    ctx.proxy.cut();
    return `stall ${stallMs} ms, then cut`;
  }
  return fault;
}
