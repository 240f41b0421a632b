// Every activity the worker registers, bound to one inventory and one exec layer.
import { guardedChanges } from './approvals/changes';
import type { ActivityDeps } from './deps';
import { etcdActivities } from './etcd';
import { frigateActivities } from './frigate/activities';
import { inventoryActivities } from './inventory';
import { k3sActivities } from './k3s/activities';
import { lxcActivities } from './lxc/activities';
import { pbsActivities } from './pbs/activities';
import { proxmoxActivities } from './proxmox';
import { runbookKitActivities } from './runbook-kit';

export function createActivities(deps: ActivityDeps) {
  const activities = {
    ...inventoryActivities(deps),
    ...proxmoxActivities(deps),
    ...etcdActivities(deps),
    ...k3sActivities(deps),
    ...runbookKitActivities(deps),
    ...pbsActivities(deps),
    ...frigateActivities(deps),
    ...lxcActivities(deps),
  };
  // every change activity verifies its own authorization and re-runs its preflight (approvals/guard.ts)
  return { ...activities, ...guardedChanges(deps, activities) };
}

export type RunbookActivities = ReturnType<typeof createActivities>;
export type { InstallFacts, RemoveFacts, UninstallFacts } from './k3s/activities';
export type { NodeFacts } from './inventory';
export type { ChangeInput } from './approvals/guard';
