/**
 * How the user calls a target, for usage lines and hints: under go-task the
 * Taskfile passes the task's full name (`tidemark:migrate:status` under a
 * namespace, `migrate:status` flattened) in TIDEMARK_TASK; run any other way
 * (the `tidemark` bin, a script), a target is `tidemark <target>`.
 * The core writes hints as `task <target> -- args`: they are rewritten here.
 */
import commands from '../../bin/commands.json' with { type: 'json' };

export interface Caller {
  /** The namespace before every target name (`tidemark:`, or '' when flattened); undefined outside go-task. */
  prefix: string | undefined;
}

const TARGETS = Object.keys(commands);
/** Earlier names, still in texts written before the rename. */
const RENAMED: Record<string, string> = Object.fromEntries(
  Object.entries(commands as Record<string, { was?: string }>).flatMap(([name, c]) => (c.was ? [[c.was, name]] : [])),
);

export function callerFrom(env: NodeJS.ProcessEnv = process.env): Caller {
  const task = env.TIDEMARK_TASK;
  if (!task) return { prefix: undefined };
  // The longest target that ends the name: `db:db:up` is `db:up` under the namespace `db:`.
  const target = TARGETS.filter((t) => task === t || task.endsWith(`:${t}`)).sort((a, b) => b.length - a.length)[0];
  return { prefix: target ? task.slice(0, -target.length) : '' };
}

/** `task tidemark:migrate --` or `tidemark migrate`: what goes before a target's arguments. */
export function invocation(caller: Caller, target: string): string {
  return caller.prefix === undefined ? `tidemark ${target}` : `task ${caller.prefix}${target} --`;
}

const NAME = `(?:${[...Object.keys(RENAMED), ...TARGETS].sort((a, b) => b.length - a.length).join('|')})`;
// `task NAME`, then ` --` before arguments, or a flag that lacks the ` --` go-task needs before it.
const CALL = new RegExp(`\\btask (${NAME})(?![\\w:-])(?:( --)(?![\\w-])|( )(?=--?[A-Za-z]))?`, 'g');

/** Every `task <target> [-- args]` in a text, as this caller types it. */
export function asTyped(caller: Caller, text: string): string {
  return text.replace(CALL, (_all, name: string, dashes?: string, beforeFlag?: string) => {
    const target = RENAMED[name] ?? name;
    if (caller.prefix === undefined) return `tidemark ${target}${beforeFlag ?? ''}`;
    return `task ${caller.prefix}${target}${dashes || beforeFlag ? ' --' : ''}${beforeFlag ?? ''}`;
  });
}
