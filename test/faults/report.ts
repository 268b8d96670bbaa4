/**
 * The tally of every trial: per command and fault, how many ran, which
 * documented end state each reached, and the inconsistent ones with what
 * was seen. Printed as a table and written to test-results/faults.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FaultKind } from './trial.js';

export interface TrialRecord {
  command: string;
  fault: FaultKind;
  /** Where the fault was injected, in words. */
  point: string;
  seed: number;
  /** The documented end state reached, e.g. "at version 3", "no backup, nothing left". */
  outcome: string;
  exit: string;
  /** Empty when the end state is a documented one. */
  problems: string[];
  durationMs: number;
}

export class Tally {
  readonly records: TrialRecord[] = [];

  add(record: TrialRecord): void {
    this.records.push(record);
  }

  inconsistent(command?: string): TrialRecord[] {
    return this.records.filter((r) => r.problems.length && (!command || r.command === command));
  }

  /** Rows of command × fault: trials, outcomes with counts, inconsistent. */
  rows(): Array<{ command: string; fault: string; trials: number; outcomes: Record<string, number>; inconsistent: number; meanMs: number }> {
    const groups = new Map<string, TrialRecord[]>();
    for (const r of this.records) {
      const key = `${r.command}\t${r.fault}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, records]) => {
      const [command, fault] = key.split('\t');
      const outcomes: Record<string, number> = {};
      for (const r of records) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      const meanMs = Math.round(records.reduce((sum, r) => sum + r.durationMs, 0) / records.length);
      return { command, fault, trials: records.length, outcomes, inconsistent: records.filter((r) => r.problems.length).length, meanMs };
    });
  }

  table(): string {
    const lines = ['command            fault               trials  inconsistent  mean ms  outcomes'];
    for (const row of this.rows()) {
      const outcomes = Object.entries(row.outcomes).map(([o, n]) => `${n}× ${o}`).join('; ');
      lines.push(`${row.command.padEnd(18)} ${row.fault.padEnd(19)} ${String(row.trials).padStart(6)}  ${String(row.inconsistent).padStart(12)}  ${String(row.meanMs).padStart(7)}  ${outcomes}`);
    }
    const bad = this.inconsistent();
    lines.push(`${this.records.length} injected faults, ${bad.length} inconsistent outcomes`);
    return lines.join('\n');
  }

  /** `run` says how the trials were chosen: seed, budget, filters. */
  write(file: string, run: Record<string, unknown>): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({
      ...run, finishedAt: new Date().toISOString(), trials: this.records.length, inconsistent: this.inconsistent().length,
      summary: this.rows(),
      failures: this.inconsistent(),
    }, null, 2)}\n`);
  }
}

/** One line per inconsistent trial, with what reproduces it. */
export function describeFailures(records: TrialRecord[]): string {
  const again = (r: TrialRecord) => `TIDEMARK_FAULT_REPLAY='${r.command}/${r.fault}/${r.seed}'`;
  return records.map((r) => `${r.command} / ${r.fault} at ${r.point} (${r.exit}; again: ${again(r)}): ${r.problems.join(' // ')}`).join('\n');
}
