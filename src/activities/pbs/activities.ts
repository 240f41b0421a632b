// Phase 2 activities: PBS datastore, ZFS pool, PVE storage (filled in by the Phase 2 work).
import type { ActivityDeps } from '../deps';

export function pbsActivities(_deps: ActivityDeps) {
  return {};
}
