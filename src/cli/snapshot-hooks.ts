import type { MigrationEntry, Project } from '../migration/project.js';
import type { CommandContext } from './context.js';

/**
 * Take the automatic snapshot before switch turns a flag on, when configured.
 * Returns details for the migration's history.
 */
export async function beforeSwitchSnapshot(
  ctx: CommandContext,
  project: Project,
  entry: MigrationEntry,
  enabled: boolean,
): Promise<Record<string, unknown>> {
  void ctx;
  void project;
  void entry;
  void enabled;
  return {};
}

/** Take the snapshot before contract drops anything; returns its id. */
export async function beforeContractSnapshot(
  ctx: CommandContext,
  project: Project,
  entry: MigrationEntry,
  enabled: boolean,
): Promise<string | undefined> {
  void ctx;
  void project;
  void entry;
  void enabled;
  return undefined;
}
