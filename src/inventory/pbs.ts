// Inventory section `pbs` (Phase 2): the Proxmox Backup Server datastore whose disk moves hosts.
// PBS runs on the Proxmox hosts themselves; PVE reaches it at hosts.<to>.address.
import { z } from 'zod';
import { absolutePath, durationSchema, nameSchema } from './primitives';

export const pbsSchema = z.strictObject({
  /** Proxmox host whose PBS holds the datastore and the disk today (key of `hosts`). */
  from: nameSchema,
  /** Proxmox host that receives the disk and serves the datastore after the move. */
  to: nameSchema,
  /** The PVE storage id (type pbs) that points at the datastore; vzdump writes there. */
  pveStorage: nameSchema,
  /** The PBS datastore name (datastore.cfg), e.g. "homelab-backup". */
  datastore: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{1,31}$/, 'must be a PBS datastore name (letters, digits, . _ -)'),
  /** The chunk store's path: where the pool mounts it on both hosts. */
  datastorePath: absolutePath,
  /** The ZFS pool on the disk. */
  pool: z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/, 'must be a ZFS pool name'),
  /** The disk's serial as /dev/disk/by-id shows it (`ata-<model>_<serial>`): found by this, never by sdX. */
  diskSerial: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/, 'must be a disk serial (letters, digits, . _ -)'),
  /** PBS API port and the user PVE logs in with. */
  port: z.number().int().min(1).max(65535).default(8007),
  username: z.string().regex(/^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$/, 'must be user@realm').default('root@pam'),
  /** The last backup of every guest must be younger than this. */
  maxBackupAge: durationSchema.default('36h'),
});

export type PbsInventory = z.infer<typeof pbsSchema>;
