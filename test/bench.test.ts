import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers/cli.js';
// @ts-expect-error the harness is plain JavaScript without type declarations
import { plan } from '../bench/workloads/index.mjs';
// @ts-expect-error the harness is plain JavaScript without type declarations
import { realisticProject } from '../bench/lib/realistic-project.mjs';

const exec = promisify(execFile);

interface PlannedWorkload {
  workload: { id: string; contenders: { name: string }[] };
}

/** The report's sections, `### ID: title`, keyed by workload id. */
function sections(report: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of report.split(/^### /m).slice(1)) found.set(part.slice(0, part.indexOf(':')), part);
  return found;
}

describe('benchmark harness', () => {
  // A smoke run (tiny sizes, one round) so that the harness cannot rot; numbers are never checked here.
  it('a smoke run writes a report with a row for every workload and contender', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tidemark-bench-'));
    try {
      const out = path.join(dir, 'RESULTS.md');
      await exec(process.execPath, ['bench/run.mjs', '--smoke', '--no-build', '--out', out], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
      const bySection = sections(await readFile(out, 'utf8'));
      const planned = plan('smoke') as PlannedWorkload[];
      // Migrations (W1-W3, W7), backup and restore (W4, W5, against the Debian server), backfills (W6) and the generated project (W8).
      expect(planned.map((p) => p.workload.id)).toEqual(expect.arrayContaining(['W1', 'W2', 'W3', 'W4', 'W5-jobs1', 'W5-jobs4', 'W6-batch1000', 'W6-batch10000', 'W8-apply', 'W8-status', 'W8-noop', 'W8-down']));
      for (const { workload } of planned) {
        const section = bySection.get(workload.id);
        expect(section, `section for ${workload.id}`).toBeDefined();
        for (const contender of workload.contenders) {
          const measured = section!.includes(`\n| ${contender.name} | `);
          const skipped = section!.includes(`Not measured: ${contender.name} (`);
          expect(measured || skipped, `${workload.id}: row for ${contender.name}`).toBe(true);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
  it('W8 generates the same project every time, of the size and kinds of file it describes', () => {
    type Entry = { version: string; name: string; up: string; down: string; mode: string };
    const project = realisticProject() as Entry[];
    expect(realisticProject()).toEqual(project);
    const files = project.length * 2;
    const bytes = project.reduce((sum, m) => sum + Buffer.byteLength(m.up) + Buffer.byteLength(m.down), 0);
    expect(files).toBeGreaterThanOrEqual(40);
    expect(files).toBeLessThanOrEqual(120);
    expect(bytes).toBeGreaterThanOrEqual(80_000);
    expect(bytes).toBeLessThanOrEqual(120_000);
    expect(new Set(project.map((m) => m.version)).size).toBe(project.length);
    const ups = project.map((m) => m.up).join('\n');
    expect(ups).toMatch(/LANGUAGE plpgsql AS \$/);
    expect(ups).toMatch(/^DO \$\$/m);
    expect(ups).toMatch(/ALTER TYPE \w+ ADD VALUE/);
    expect(ups).toMatch(/PARTITION BY RANGE/);
    expect(ups).toMatch(/CREATE EXTENSION/);
    expect(project.filter((m) => m.mode === 'own-transaction').every((m) => m.up.startsWith('BEGIN;'))).toBe(true);
    expect(project.filter((m) => m.mode === 'no-transaction').map((m) => m.up.split('\n')[0])).toEqual(Array(4).fill('-- tidemark:no-transaction'));
  });
});
