// Phase 4 activities: the old Frigate LXC, its vzdump backup, stop and destroy (filled in by the Phase 4 work).
import type { ActivityDeps } from '../deps';

export function lxcActivities(_deps: ActivityDeps) {
  return {};
}
