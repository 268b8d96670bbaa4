/**
 * The lint configuration file (tidemark.lint.json at the project root, or
 * the file TIDEMARK_LINT_CONFIG names): the PostgreSQL version to lint for
 * when no database is reachable, and a severity (or "off") per rule. Read by
 * the settings loader; every problem is a CONFIG_INVALID naming the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TidemarkError } from './errors.js';
import { RULE_SETTINGS, isRuleId, type RuleId, type RuleSetting } from './lint-rule-ids.js';

export const LINT_CONFIG_FILE = 'tidemark.lint.json';

export interface LintConfig {
  /** The file read, when there is one. */
  file?: string;
  pgVersion?: number;
  rules: Partial<Record<RuleId, RuleSetting>>;
}

function invalid(file: string, cause: string): TidemarkError {
  return new TidemarkError('CONFIG_INVALID', 'invalid configuration', {
    operation: `read the lint configuration ${file}`, cause, hint: `keys: "pgVersion" (a major version such as 15) and "rules" ({ "RULE": "error" | "warning" | "notice" | "off" })`,
  });
}

/** A PostgreSQL major version from 9 to 99, from a flag, the environment or the file. */
export function parsePgMajor(value: unknown, label: string, fail: (cause: string) => Error): number {
  const text = String(value).trim();
  if (!/^\d{1,2}$/.test(text) || Number(text) < 9) throw fail(`${label}: "${text}" is not a PostgreSQL major version (such as 15 or 18)`);
  return Number(text);
}

function parseRules(file: string, rules: unknown): LintConfig['rules'] {
  if (!rules || typeof rules !== 'object' || Array.isArray(rules)) throw invalid(file, '"rules" must be an object of rule names to severities');
  const parsed: LintConfig['rules'] = {};
  for (const [rule, setting] of Object.entries(rules)) {
    if (!isRuleId(rule)) throw invalid(file, `"rules.${rule}" is not a lint rule`);
    if (!RULE_SETTINGS.includes(setting as RuleSetting)) throw invalid(file, `"rules.${rule}" must be one of ${RULE_SETTINGS.join(', ')}, not ${JSON.stringify(setting)}`);
    parsed[rule] = setting as RuleSetting;
  }
  return parsed;
}

export function parseLintConfig(file: string, text: string): LintConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(file, `not JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(file, 'the file must hold one JSON object');
  const config: LintConfig = { file, rules: {} };
  for (const [key, entry] of Object.entries(value)) {
    if (key === 'pgVersion') config.pgVersion = parsePgMajor(entry, '"pgVersion"', (cause) => invalid(file, cause));
    else if (key === 'rules') config.rules = parseRules(file, entry);
    else if (key !== '$schema') throw invalid(file, `"${key}" is not a lint setting`);
  }
  return config;
}

/** The configured file (must exist), else tidemark.lint.json in the project when present, else none. */
export function readLintConfig(cwd: string, configured: string | undefined): LintConfig {
  const file = configured ? path.resolve(cwd, configured) : path.join(cwd, LINT_CONFIG_FILE);
  if (!configured && !existsSync(file)) return { rules: {} };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(configured ?? file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist (TIDEMARK_LINT_CONFIG)' : (err as Error).message);
  }
  return parseLintConfig(path.relative(cwd, file) || file, text);
}
