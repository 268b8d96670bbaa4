/**
 * go-task builds CLI_ARGS by quoting each argument after `--` with
 * mvdan.cc/sh's syntax.Quote(arg, LangBash) and joining them with spaces.
 * This mirrors that quoting so that tests run the Taskfile's commands as
 * go-task would.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
const RESERVED = new Set(['if', 'then', 'elif', 'else', 'fi', 'for', 'in', 'do', 'done', 'case', 'esac', 'while', 'until', 'function', 'select', 'time', '!', '{', '}', '[[', ']]', 'coproc']);

export function quoteBash(arg: string): string {
  if (arg === '') return "''";
  if (SAFE.test(arg) && !RESERVED.has(arg)) return arg;
  const printable = [...arg].every((ch) => ch >= ' ' && ch !== '\x7f');
  if (!arg.includes("'") && printable) return `'${arg}'`;
  let out = "$'";
  for (const ch of arg) {
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

export const cliArgs = (args: string[]): string => args.map(quoteBash).join(' ');
