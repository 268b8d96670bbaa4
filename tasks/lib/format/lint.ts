/** migrate:lint's renderings: text for people, GitHub Actions workflow commands for CI annotations. */
import type { Finding, LintReport, TracedFinding } from '../../../src/index.js';
import type { Output } from '../cli.js';
import { prettySize } from './table.js';

/** 1,000 without toLocaleString, whose first call loads ICU's data: a tenth of a second of a short command. */
const count = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

const plural = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? '' : 's'}`;

function sizeText(f: Finding): string {
  if (f.size === 'unknown' || f.bytes === undefined) return '';
  const rows = f.rows !== undefined && f.rows >= 0 ? `~${count(Math.round(f.rows))} rows, ` : '';
  return `; table: ${f.size} (${rows}${prettySize(f.bytes)})`;
}

/** `lock: SHARE on users (blocks writes, reads go on); rewrite: no; scan: yes`. */
export function effectLine(f: Finding): string {
  const lock = f.lock
    ? `lock: ${f.lock.mode} on ${f.lock.on} (${f.lock.blocksReads ? 'blocks reads and writes' : f.lock.blocksWrites ? 'blocks writes, reads go on' : 'blocks neither reads nor writes'})`
    : 'lock: none worth naming';
  return `${lock}; rewrite: ${f.rewrite}; scan: ${f.scan}${sizeText(f)}`;
}

/** `trace: as claimed`, or what the trace contradicted (the effect line then shows what the server did). */
export function traceLine(f: TracedFinding): string | undefined {
  if (!f.trace) return undefined;
  if (f.trace.error) return `trace: the statement failed on the scratch database: ${f.trace.error}`;
  const unseen = f.trace.lock === undefined ? ' (ran outside a transaction: its locks and scans could not be read)' : '';
  return f.trace.differences.length
    ? `trace: ${f.trace.differences.join('; ')}; the trace wins${unseen}`
    : `trace: as claimed${unseen}`;
}

function printFinding(out: Output, f: TracedFinding): void {
  out.line(`${f.file}:${f.line}:${f.column}: ${f.severity} ${f.rule}`);
  if (f.statement) out.line(`  ${f.statement}`);
  out.line(`  ${f.message}`);
  out.line(`  ${effectLine(f)}`);
  const trace = traceLine(f);
  if (trace) out.line(`  ${trace}`);
  out.line(`  safe: ${f.safe}`);
  for (const line of f.safeSql?.split('\n') ?? []) out.line(`    ${line}`);
  out.line();
}

export function summaryLine(report: LintReport): string {
  const scope = report.scope === 'files' ? 'named' : report.scope;
  const source = { server: "the server's", configuration: 'configured', default: 'default' }[report.pgVersionFrom];
  const counts = `${plural(report.counts.error, 'error')}, ${plural(report.counts.warning, 'warning')}, ${plural(report.counts.notice, 'notice')}`;
  const trace = report.trace
    ? ` Traced ${plural(report.trace.statements, 'statement')} on a scratch database from version ${report.trace.startingVersion ?? 'none'}: ${plural(report.trace.disagreements, 'disagreement')}.`
    : '';
  return `Linted ${plural(report.files.length, 'file')} (${scope}) for PostgreSQL ${report.pgVersion} (${source} version), `
    + `${report.catalog ? 'with' : 'without'} the server's catalog: ${counts}.${trace}`;
}

export function printLintReport(out: Output, report: LintReport): void {
  for (const note of report.notes) out.warn(`note: ${note}`);
  for (const f of report.findings) printFinding(out, f);
  out.line(summaryLine(report));
}

/** A workflow command's data: `%`, CR and LF escaped; properties also escape `:` and `,`. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::error file=…,line=…,col=…,title=…::message`, one line a finding. */
export function githubAnnotation(f: Finding): string {
  const props = `file=${escapeProperty(f.file)},line=${f.line},col=${f.column},title=${escapeProperty(`${f.rule} (${f.severity})`)}`;
  const message = `${f.message}\n${effectLine(f)}\nsafe: ${f.safe}${f.safeSql ? `\n${f.safeSql}` : ''}`;
  return `::${f.severity} ${props}::${escapeData(message)}`;
}

export function printGithub(out: Output, report: LintReport): void {
  for (const note of report.notes) out.line(`::notice::${escapeData(note)}`);
  for (const f of report.findings) out.line(githubAnnotation(f));
  out.line(summaryLine(report));
}

