/**
 * The start of every pitr command: the stanza, pgBackRest found and checked,
 * the cluster it backs up, the user it runs as, and its configuration
 * written afresh from the settings.
 */
import type { SettingsWithoutDatabase } from '../config.js';
import type { DatabaseTarget } from '../connection-string.js';
import { TidemarkError } from '../errors.js';
import { configPaths, recordedCluster, writeConfig, type ClusterFacts } from './conf.js';
import type { ServerFacts } from './server.js';
import { fileOwner, findPgbackrest, runIdentity, type PitrContext } from './tool.js';

export function stanzaOf(settings: SettingsWithoutDatabase, operation: string): string {
  if (settings.pitr.stanza) return settings.pitr.stanza;
  throw new TidemarkError('CONFIG_INVALID', 'invalid configuration', {
    operation, cause: 'no stanza: neither PITR_STANZA nor DATABASE_URL is set', hint: 'set PITR_STANZA (pgBackRest\'s name for this cluster), or DATABASE_URL',
  });
}

/** The cluster as the server describes it, the settings first. */
export function clusterFromServer(settings: SettingsWithoutDatabase, facts: ServerFacts, target: DatabaseTarget, operation: string): ClusterFacts {
  const dataDir = settings.pitr.dataDir ?? facts.dataDir;
  if (!dataDir) {
    throw new TidemarkError('PITR_NOT_CONFIGURED', 'the data directory is unknown', {
      operation, cause: `${target.user ?? 'this role'} may not read data_directory`, hint: 'set PITR_DATA_DIR (or --data-dir) to the server\'s data directory',
    });
  }
  return { dataDir, port: facts.port, socketDir: settings.pitr.socketDir ?? facts.socketDir, user: target.user, database: target.database };
}

/** The cluster for a command that does not ask the server: PITR_DATA_DIR, else what pitr:init recorded. */
export function knownCluster(settings: SettingsWithoutDatabase, stanza: string): ClusterFacts | undefined {
  const recorded = recordedCluster(settings.pitr, stanza);
  if (!settings.pitr.dataDir) return recorded;
  const db = settings.database;
  return {
    dataDir: settings.pitr.dataDir, port: recorded?.port ?? db?.port ?? 5432, socketDir: settings.pitr.socketDir ?? recorded?.socketDir,
    user: recorded?.user ?? db?.user, database: recorded?.database ?? db?.database,
  };
}

/** `setup`: pitr:init, which alone removes a secrets file the settings no longer have. */
export async function openPitr(settings: SettingsWithoutDatabase, operation: string, cluster?: ClusterFacts, target?: DatabaseTarget, setup = false): Promise<PitrContext & { cluster?: ClusterFacts }> {
  const stanza = stanzaOf(settings, operation);
  const tool = await findPgbackrest(settings.pitr, operation);
  const facts = cluster ?? knownCluster(settings, stanza);
  const as = runIdentity(settings.pitr, facts?.dataDir);
  await writeConfig(settings.pitr, stanza, facts, fileOwner(settings.pitr, facts?.dataDir), setup);
  const { configFile, includeDir } = configPaths(settings.pitr);
  return { settings: settings.pitr, stanza, tool, as, configFile, includeDir, target, cluster: facts };
}
