// Targets a workload states, evaluated on the ratios of one run of the
// harness: the median of the per-run ratios tidemark / other.
const fmt = (x) => `${x.toFixed(2)}×`;

/** tidemark's time at most `limit` × the named contender's. */
export function ratioAtMost(other, limit) {
  return {
    text: `tidemark ≤ ${limit} × ${other} (median of per-run ratios)`,
    evaluate(result) {
      const ratio = result.ratios[other];
      if (!ratio) return { met: null, detail: `${other} not measured` };
      return { met: ratio.median <= limit, detail: `median ${fmt(ratio.median)} (min ${fmt(ratio.min)}, max ${fmt(ratio.max)})` };
    },
  };
}

/** tidemark faster than every peer: each median ratio below 1. */
export function fasterThanPeers() {
  return {
    text: 'tidemark faster than every peer (median ratio < 1)',
    evaluate(result) {
      const peers = result.contenders.filter((c) => c.role === 'peer' && result.ratios[c.name]);
      if (!peers.length) return { met: null, detail: 'no peer measured' };
      const parts = peers.map((c) => `${c.name} ${fmt(result.ratios[c.name].median)}`);
      return { met: peers.every((c) => result.ratios[c.name].median < 1), detail: parts.join(', ') };
    },
  };
}

/** tidemark's largest peak memory over all runs at most `mb` MB. */
export function peakMemoryAtMost(mb) {
  return {
    text: `tidemark peak memory ≤ ${mb} MB (largest run)`,
    evaluate(result) {
      const c = result.contenders.find((x) => x.role === 'subject');
      const peak = c?.memory.max;
      if (!Number.isFinite(peak)) return { met: null, detail: 'memory not measured' };
      return { met: peak / 1024 <= mb, detail: `largest ${(peak / 1024).toFixed(1)} MB, median ${(c.memory.median / 1024).toFixed(1)} MB` };
    },
  };
}

/**
 * Time grows at most linearly: from the same series' largest smaller size,
 * tidemark's median time grows by no more than the number of migrations does
 * (with 10% slack for noise). Fixed start-up cost makes small sizes grow less.
 */
export function linearGrowth() {
  return {
    text: 'tidemark time grows at most linearly with the number of migrations',
    evaluate(result, all) {
      const smaller = all.filter((r) => r.series === result.series && r.n < result.n).sort((a, b) => b.n - a.n)[0];
      if (!smaller) return { met: null, detail: 'no smaller size of this workload measured' };
      const time = (r, name) => r.contenders.find((c) => (name ? c.name === name : c.role === 'subject'))?.wall.median;
      const growth = time(result) / time(smaller);
      const sizeGrowth = result.n / smaller.n;
      const others = result.contenders.filter((c) => c.role !== 'subject' && Number.isFinite(time(smaller, c.name)))
        .map((c) => `${c.name} ×${(c.wall.median / time(smaller, c.name)).toFixed(2)}`);
      return {
        met: growth <= sizeGrowth * 1.1,
        detail: `${smaller.n.toLocaleString('en-US')} → ${result.n.toLocaleString('en-US')} migrations (×${sizeGrowth}): tidemark's time ×${growth.toFixed(2)}${others.length ? `; ${others.join(', ')}` : ''}`,
      };
    },
  };
}

/** A named contender's time at most `limit` × another's (a variant of tidemark against the peer). */
export function pairRatioAtMost(of, to, limit) {
  const key = `${of} / ${to}`;
  return {
    text: `${of} ≤ ${limit} × ${to} (median of per-run ratios)`,
    evaluate(result) {
      const ratio = result.pairRatios?.[key];
      if (!ratio) return { met: null, detail: `${of} or ${to} not measured` };
      return { met: ratio.median <= limit, detail: `median ${fmt(ratio.median)} (min ${fmt(ratio.min)}, max ${fmt(ratio.max)})` };
    },
  };
}
