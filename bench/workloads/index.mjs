// The benchmark plan: which workloads run, at which sizes, how many times.
// A new workload is a module in this directory exporting a function that
// returns { id, series, n, title, contenders: [{ name, role, prepare, run }], targets },
// listed here.
import w1 from './w1-apply.mjs';
import w2 from './w2-status.mjs';
import w3 from './w3-noop.mjs';
import w7 from './w7-large.mjs';

const SIZES = {
  full: { small: 100, main: 1000, large: 10000 },
  quick: { small: 20, main: 100, large: 300 },
};

/** Each entry: a workload and its runs and warm-up rounds. */
export function plan(mode) {
  const { small, main, large } = SIZES[mode];
  const quick = mode === 'quick';
  const runs = (full) => ({ runs: quick ? 2 : full, warmup: 1 });
  return [
    { workload: w1({ n: main }), ...runs(5) },
    { workload: w2({ n: main }), ...runs(9) },
    { workload: w3({ n: main }), ...runs(9) },
    // The smaller size of each series, for the growth table; the targets are stated for the main size.
    { workload: w1({ n: small, id: 'W1-small', targets: [] }), ...runs(5) },
    { workload: w2({ n: small, id: 'W2-small', targets: [] }), ...runs(5) },
    { workload: w3({ n: small, id: 'W3-small', targets: [] }), ...runs(5) },
    ...w7({ n: large }).map((workload) => ({ workload, ...runs(5) })),
  ];
}
