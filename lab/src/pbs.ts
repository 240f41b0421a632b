// Phase 2's part of the lab: PBS datastores, ZFS pools on disks that can move between hosts, PVE storage.
import type { LabJson } from './topology';

/** Stand-ins of this part, symlinked into $LAB_DIR/bin (first on PATH in every lab shell). */
export const PBS_BINS: string[] = [];

/** Called once by Lab.start after the K3s cluster exists, before the inventory is written. */
export async function setupPbs(_dir: string, _l: LabJson): Promise<void> {}

/** This part's sections of the lab's inventory.yaml. */
export function pbsInventory(_l: LabJson): Record<string, unknown> {
  return {};
}

/** Test-facing view and faults (lab.pbs). */
export class LabPbs {
  constructor(readonly dir: string) {}
}
