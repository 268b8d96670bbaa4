/**
 * `pitr:init`: pgBackRest's configuration from tidemark's settings, the
 * stanza, and the server's archive settings (printed, or set with --apply),
 * then pgBackRest's own `check` once the server archives.
 */
import type { Settings } from '../config.js';
import { TidemarkError } from '../errors.js';
import { failed } from '../pgtools/run.js';
import { archiveCommand, configPaths, isOurArchiveCommand } from './conf.js';
import { clusterFromServer, openPitr } from './context.js';
import { applyArchiveSettings, readServerFacts, withServer } from './server.js';
import { describeRepository } from '../pitr-settings.js';
import { pgbackrestFailure, runPgbackrest, type PitrContext } from './tool.js';

export interface PitrInitOptions {
  /** Set archive_mode and archive_command through ALTER SYSTEM (a superuser's connection). */
  apply?: boolean;
}

export interface PitrInitResult {
  stanza: string;
  repository: string;
  configFile: string;
  pgbackrestVersion: string;
  dataDir: string;
  /** What the server must have, and whether it has it now. */
  archive: { wanted: { archive_mode: 'on'; archive_command: string }; current: { archive_mode: string; archive_command: string }; ok: boolean };
  /** ALTER SYSTEM ran (--apply). */
  applied: boolean;
  /** archive_mode changes only when the server restarts. */
  restartNeeded: boolean;
  /** pgBackRest's `check` ran and passed (it needs the server archiving). */
  checked: boolean;
  /** Why check did not run. */
  checkSkipped?: string;
}

async function pgbackrestStep(ctx: PitrContext, command: string, operation: string): Promise<void> {
  const result = await runPgbackrest(ctx, command, [], { timeoutMs: 600_000 });
  if (failed(result)) {
    throw new TidemarkError('PITR_INIT_FAILED', `pgbackrest ${command} failed`, {
      operation, cause: pgbackrestFailure(command, result, ctx), hint: 'see the settings in the error; pgBackRest\'s log is in PITR_DIR/log',
    });
  }
}

export async function pitrInit(settings: Settings, options: PitrInitOptions = {}): Promise<PitrInitResult> {
  const operation = 'set up physical backups';
  const target = settings.database;
  return withServer(target, operation, async (client) => {
    const facts = await readServerFacts(client);
    const cluster = clusterFromServer(settings, facts, target, operation);
    const ctx = await openPitr(settings, operation, cluster, target, true);
    const wanted = { archive_mode: 'on' as const, archive_command: archiveCommand(ctx.tool.file, settings.pitr, ctx.stanza) };
    const current = { archive_mode: facts.archiveMode, archive_command: facts.archiveCommand };
    let ok = facts.archiveMode !== 'off' && isOurArchiveCommand(facts.archiveCommand, settings.pitr, ctx.stanza);
    let restartNeeded = false;
    let applied = false;
    if (options.apply && !ok) {
      if (!facts.superuser) {
        throw new TidemarkError('PITR_INIT_FAILED', 'cannot set the archive settings', { operation, cause: `${target.user ?? 'this role'} is not a superuser: ALTER SYSTEM needs one`, hint: 'run it as a superuser, or set the two settings printed without --apply in postgresql.conf' });
      }
      await applyArchiveSettings(client, wanted.archive_command, operation, facts.archiveMode !== 'off');
      applied = true;
      restartNeeded = facts.archiveMode === 'off';
      ok = !restartNeeded;
    }
    await pgbackrestStep(ctx, 'stanza-create', operation);
    const checkSkipped = ok ? undefined : restartNeeded ? 'archive_mode takes effect when the server restarts' : 'the server does not archive into this stanza yet';
    if (ok) await pgbackrestStep(ctx, 'check', operation);
    return {
      stanza: ctx.stanza, repository: describeRepository(settings.pitr.repo), configFile: configPaths(settings.pitr).configFile, pgbackrestVersion: ctx.tool.version,
      dataDir: cluster.dataDir, archive: { wanted, current, ok }, applied, restartNeeded, checked: ok, ...(checkSkipped && { checkSkipped }),
    };
  });
}
