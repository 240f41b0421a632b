// Inventory section `frigate` (Phases 3 and 4): the Frigate that moves into K3s, and the LXC it leaves.
import { z } from 'zod';
import { nameSchema } from './primitives';

export const frigateSchema = z.strictObject({
  /** The K3s node Frigate is pinned to (key of `k3s.nodes`). */
  node: nameSchema,
  /** Today's Frigate: an LXC on a Proxmox host. */
  lxc: z.strictObject({
    host: nameSchema,
    ctid: z.number().int().min(100).max(999_999_999),
  }),
});

export type FrigateInventory = z.infer<typeof frigateSchema>;
