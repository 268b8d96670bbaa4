// W7: migrate:status and migrate with many migrations (10,000 in the full
// run), against dbmate: tidemark's peak memory stays bounded and its time
// grows no faster than the number of migrations. These are also the largest
// sizes of the W1-W3 series. Applying 10,000 migrations takes about half a
// minute per run, so W7 compares with dbmate and golang-migrate only.
import w1 from './w1-apply.mjs';
import w2 from './w2-status.mjs';
import w3 from './w3-noop.mjs';
import { linearGrowth, peakMemoryAtMost } from '../lib/targets.mjs';

const MEMORY_LIMIT_MB = 120;

export default function w7({ n }) {
  const targets = [peakMemoryAtMost(MEMORY_LIMIT_MB), linearGrowth()];
  const count = n.toLocaleString('en-US');
  return [
    { ...w2({ n, id: 'W7-status', series: 'W2', withNpmBin: false, targets }), title: `\`migrate:status\` with ${count} applied migrations` },
    { ...w1({ n, id: 'W7-apply', series: 'W1', only: ['dbmate', 'golang-migrate'], targets }), title: `\`migrate\` applying ${count} migrations to an empty database` },
    { ...w3({ n, id: 'W7-noop', series: 'W3', withNodePgMigrate: false, withNpmBin: false, targets }), title: `\`migrate\` with nothing pending, ${count} applied` },
  ];
}
