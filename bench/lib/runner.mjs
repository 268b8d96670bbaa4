// Runs one workload: its contenders in alternation (A B C, B C A, …: each
// round rotates who goes first), a warm-up round that is not counted, every run
// on a freshly prepared database, and the ratios tidemark / other taken round
// by round, never across rounds.
import { summary } from './stats.mjs';
import { GOLANG_MIGRATE, golangMigrate } from './tools.mjs';

async function runOnce(ctx, contender) {
  const prepared = await contender.prepare(ctx);
  try {
    const result = await contender.run(ctx, prepared);
    await contender.verify?.(ctx, prepared, result);
    return result;
  } finally {
    await contender.cleanup?.(ctx, prepared);
  }
}

function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** Runs the workload; returns per-contender samples, their summaries and the per-round ratios. */
export async function runWorkload(workload, ctx, { runs, warmup, log }) {
  const started = Date.now();
  const skipped = [];
  const contenders = workload.contenders.filter((c) => {
    if (c.needs === 'psql' && !ctx.psql) {
      skipped.push({ name: c.name, reason: 'psql not found' });
      return false;
    }
    if (c.needs === 'golang-migrate' && !golangMigrate.available()) {
      skipped.push({ name: c.name, reason: `golang-migrate not found at ${GOLANG_MIGRATE} (the project's shared vendor directory beside the checkout)` });
      return false;
    }
    // A contender may say what this machine lacks for it (a program not installed).
    const lacks = c.unavailable?.();
    if (lacks) {
      skipped.push({ name: c.name, reason: lacks });
      return false;
    }
    return true;
  });
  const samples = new Map(contenders.map((c) => [c.name, []]));
  const caseCtx = { ...ctx, n: workload.n };
  for (let round = 0; round < warmup + runs; round++) {
    const counted = round >= warmup;
    for (const contender of rotate(contenders, round)) {
      const result = await runOnce(caseCtx, contender);
      if (counted) samples.get(contender.name).push({ wallMs: result.wallMs, peakKb: result.peakKb });
      log(`  ${counted ? `run ${round - warmup + 1}/${runs}` : 'warm-up'} ${contender.name}: ${(result.wallMs / 1000).toFixed(3)} s, ${(result.peakKb / 1024).toFixed(1)} MB`);
    }
  }
  const subject = contenders.find((c) => c.role === 'subject');
  const ratios = {};
  for (const other of contenders) {
    if (other === subject) continue;
    const mine = samples.get(subject.name);
    const theirs = samples.get(other.name);
    ratios[other.name] = summary(mine.map((s, i) => s.wallMs / theirs[i].wallMs));
  }
  // Ratios between two other contenders (e.g. a variant of tidemark against the peer), also round by round.
  const pairRatios = {};
  for (const [of, to] of workload.pairs ?? []) {
    if (!samples.has(of) || !samples.has(to)) continue;
    pairRatios[`${of} / ${to}`] = summary(samples.get(of).map((s, i) => s.wallMs / samples.get(to)[i].wallMs));
  }
  const notes = (await workload.notes?.(caseCtx)) ?? [];
  return {
    id: workload.id,
    series: workload.series,
    n: workload.n,
    title: workload.title,
    description: workload.description ?? [],
    runs,
    warmup,
    skipped,
    contenders: contenders.map((c) => ({
      name: c.name,
      role: c.role,
      wall: summary(samples.get(c.name).map((s) => s.wallMs)),
      memory: summary(samples.get(c.name).map((s) => s.peakKb)),
      samples: samples.get(c.name),
    })),
    ratios,
    pairRatios,
    unit: workload.unit,
    notes,
    durationMs: Date.now() - started,
    targets: workload.targets ?? [],
  };
}

/** Evaluates every workload's targets once all workloads have run (growth needs the other sizes). */
export function evaluateTargets(results) {
  for (const result of results) {
    result.evaluated = result.targets.map((t) => ({ text: t.text, ...t.evaluate(result, results) }));
  }
  return results;
}
