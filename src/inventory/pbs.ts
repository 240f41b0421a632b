// Inventory section `pbs` (Phase 2): the Proxmox Backup Server datastore whose disk moves hosts.
import { z } from 'zod';
import { nameSchema } from './primitives';

export const pbsSchema = z.strictObject({
  /** Proxmox host whose PBS holds the datastore and the disk today (key of `hosts`). */
  from: nameSchema,
  /** Proxmox host that receives the disk and serves the datastore after the move. */
  to: nameSchema,
  /** The PVE storage id (type pbs) that points at the datastore; vzdump writes there. */
  pveStorage: nameSchema,
});

export type PbsInventory = z.infer<typeof pbsSchema>;
