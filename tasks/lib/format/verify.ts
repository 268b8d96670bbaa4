/** Text renderings of migrate:verify, db:schema and db:diff. */
import type { MigrationCheck, VerifyReport } from '../../../src/verify/verify.js';
import type { SchemaFingerprint } from '../../../src/schema/fingerprint.js';
import type { SchemaDiffReport } from '../../../src/schema/read.js';
import { objectLine } from '../../../src/schema/fingerprint.js';
import type { Output } from '../cli.js';
import { ms } from './migrate.js';

const STATUS_WORDS: Record<MigrationCheck['status'], string> = {
  'passed': 'ok',
  'not-reversible': 'NOT REVERSIBLE',
  'down-missing': 'NO DOWN FILE',
  'down-failed': 'DOWN FAILED',
  'up-failed': 'SECOND UP FAILED',
  'first-up-failed': 'UP FAILED',
};

/** One line per migration as it is checked. */
export function printCheck(out: Output, check: MigrationCheck): void {
  out.line(`  ${STATUS_WORDS[check.status].padEnd(16)} ${check.version} ${check.name}`);
}

function indent(text: string, prefix: string): string {
  return text.split('\n').map((line) => `${prefix}${line}`).join('\n');
}

export function printFindings(out: Output, report: VerifyReport): void {
  for (const f of report.findings) {
    out.line(`${f.code}: ${f.message}`);
    for (const d of f.differences ?? []) out.line(`    ${d}`);
    const cause = f.error?.error;
    if (typeof cause === 'string') out.line(indent(cause, '    '));
  }
}

export function printVerifySummary(out: Output, report: VerifyReport): void {
  if (report.findings.length) {
    out.line();
    printFindings(out, report);
  }
  const checked = report.checks.length;
  const passed = report.passed.length;
  out.line();
  out.line(`${passed} of ${checked} migration${checked === 1 ? '' : 's'} reversed exactly (from ${report.startingPoint}, in ${ms(report.durationMs)})`);
  if (report.passed.length && report.passed.length < checked) out.line(`passed: ${report.passed.join(', ')}`);
  if (report.notChecked.length) out.line(`not checked (they build on a migration whose up fails): ${report.notChecked.join(', ')}`);
  if (!checked) out.line('nothing to check: no migration in range');
}

export function printSchema(out: Output, fp: SchemaFingerprint): void {
  for (const o of fp.objects) out.line(objectLine(o));
  out.line(`sha256 ${fp.sha256} (${fp.objects.length} objects)`);
}

export function printDiff(out: Output, report: SchemaDiffReport): void {
  out.line(`A: ${report.a.database} (sha256 ${report.a.sha256.slice(0, 16)}…)`);
  out.line(`B: ${report.b.database} (sha256 ${report.b.sha256.slice(0, 16)}…)`);
  if (report.same) return out.line('the schemas are the same');
  for (const line of report.differences) out.line(`  ${line}`);
  out.line(`${report.changes.length} object${report.changes.length === 1 ? '' : 's'} differ`);
}
