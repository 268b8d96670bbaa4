/**
 * Lints scripts in the order they would run, one statement after the other,
 * remembering across files what the run has created: the core the command
 * (lintMigrations) and the runner (lintScripts) share.
 */
import { wantsNoTransaction } from '../sql/split.js';
import type { Catalog } from './catalog.js';
import { checkStatement } from './checks/index.js';
import { applyEffects } from './effects.js';
import { findIgnores, parseScript, shorten, type IgnoreComment, type ParsedStatement } from './parse.js';
import { isRuleId, type RuleId, type RuleSetting } from '../lint-rule-ids.js';
import { rankSeverity, sizeClass } from './severity.js';
import { FileState, RunState, type TransactionMode } from './state.js';
import type { Draft, Finding, SizeClass } from './types.js';

export interface ScriptInput {
  /** How findings name the file. */
  file: string;
  sql: string;
  /** The migration's version, when the file is one of the migrations directory's. */
  version?: bigint;
}

export interface LinterOptions {
  /** The major version the migrations will run on. */
  pgVersion: number;
  catalog?: Catalog;
  /** The lock_timeout the runner sets for DDL (ms); undefined or 0: none, each file must set its own. */
  runnerLockTimeoutMs?: number;
  /** Severities (or 'off') from the lint configuration. */
  rules?: Partial<Record<RuleId, RuleSetting>>;
}

function transactionMode(sql: string, statements: ParsedStatement[]): TransactionMode {
  if (wantsNoTransaction(sql)) return 'no-transaction';
  return statements.some((s) => s.kind === 'TransactionStmt') ? 'unwrapped' : 'transaction';
}

/** The ignore comments on the lines right above each statement (a stack of them counts). */
function attachIgnores(statements: ParsedStatement[], ignores: IgnoreComment[]): Map<ParsedStatement, IgnoreComment[]> {
  const byLine = new Map(ignores.map((i) => [i.line, i]));
  const attached = new Map<ParsedStatement, IgnoreComment[]>();
  for (const s of statements) {
    const above: IgnoreComment[] = [];
    for (let line = s.line - 1; byLine.has(line); line--) above.push(byLine.get(line)!);
    if (above.length) attached.set(s, above);
  }
  return attached;
}

const META: Pick<Draft, 'rewrite' | 'scan'> = { rewrite: 'no', scan: 'no' };

export class Linter {
  private readonly run = new RunState();

  constructor(private readonly options: LinterOptions) {}

  async lintScript(script: ScriptInput): Promise<Finding[]> {
    const parsed = await parseScript(script.sql);
    if (parsed.error) {
      const draft: Draft = { rule: 'parse-error', message: parsed.error.message, safe: 'fix the SQL: PostgreSQL would refuse the file', ...META };
      return this.place(script.file, parsed.error, '', [draft]);
    }
    const file = new FileState(transactionMode(script.sql, parsed.statements));
    const ignores = findIgnores(script.sql);
    const attached = attachIgnores(parsed.statements, ignores);
    const used = new Set<IgnoreComment>();
    const findings: Finding[] = [];
    for (const statement of parsed.statements) {
      const drafts = await checkStatement({ statement, run: this.run, file, ...this.options });
      applyEffects(this.run, file, statement);
      const placed = await this.place(script.file, statement, statement.text, drafts);
      findings.push(...this.applyIgnores(placed, attached.get(statement) ?? [], used));
    }
    const all = [...findings, ...(await this.ignoreFindings(script.file, ignores, used))];
    return all.sort((a, b) => a.line - b.line || a.column - b.column);
  }

  private applyIgnores(findings: Finding[], ignores: IgnoreComment[], used: Set<IgnoreComment>): Finding[] {
    return findings.filter((f) => {
      const ignore = ignores.find((i) => i.rule === f.rule && i.reason);
      if (ignore) used.add(ignore);
      return !ignore;
    });
  }

  private ignoreFindings(file: string, ignores: IgnoreComment[], used: Set<IgnoreComment>): Promise<Finding[]> {
    const drafts = ignores.filter((i) => !used.has(i)).map((i): [IgnoreComment, Draft] => {
      if (!i.reason && i.rule && isRuleId(i.rule)) {
        return [i, { rule: 'ignore-without-reason', message: `-- tidemark:lint-ignore ${i.rule} gives no reason, so it ignores nothing`, safe: `say why: -- tidemark:lint-ignore ${i.rule} the table holds 40 rows`, ...META }];
      }
      const what = !i.rule ? 'names no rule' : !isRuleId(i.rule) ? `names no known rule ("${i.rule}")` : `matches no ${i.rule} finding on the statement right below it`;
      return [i, { rule: 'unmatched-ignore', message: `-- tidemark:lint-ignore ${what}`, safe: 'remove it, or put it on the line right above the statement it is for', ...META }];
    });
    return Promise.all(drafts.map(([i, d]) => this.place(file, { line: i.line, column: 1 }, `-- tidemark:lint-ignore ${i.rule ?? ''} ${i.reason ?? ''}`.trim(), [d]))).then((f) => f.flat());
  }

  /** Position, statement, size and severity; a rule set off drops its findings. */
  private async place(file: string, at: { line: number; column: number }, text: string, drafts: Draft[]): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const draft of drafts) {
      const facts = draft.table && this.options.catalog ? await this.options.catalog.table(draft.table) : undefined;
      const size: SizeClass = sizeClass(facts);
      const severity = rankSeverity(draft, size, this.options.rules?.[draft.rule]);
      if (!severity) continue;
      findings.push({ ...draft, severity, file, line: at.line, column: at.column, statement: shorten(text), size, ...(facts && { rows: facts.rows, bytes: facts.bytes }) });
    }
    return findings;
  }
}
