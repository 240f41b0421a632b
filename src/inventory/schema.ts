// The inventory: everything about one homelab that the runbooks need. Nothing of a real lab is
// hard-coded in src/; it lives in an inventory file validated by this schema.
import { z } from 'zod';

import { absolutePath, commandUrl, durationSchema, fingerprintSchema, nameSchema } from './primitives';
import { frigateSchema } from './frigate';
import { pbsSchema } from './pbs';

export { durationSchema, nameSchema };

export const hostSchema = z.strictObject({
  /** IP or DNS name the worker dials. */
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'must be a Unix user name (a-z, 0-9, _, -)').optional(),
  /** Pinned host key fingerprints (any one may match). Used in addition to ssh.knownHostsPath. */
  hostKeyFingerprints: z.array(fingerprintSchema).optional(),
});

export const k3sNodeSchema = z.strictObject({
  /** Proxmox host (key of `hosts`) that runs this node's VM. */
  host: nameSchema,
  vmid: z.number().int().min(100).max(999_999_999),
  /** The node's IP: K3S_URL and the etcd peer URL use it. */
  address: z.string().regex(/^[0-9.]+$|^[0-9a-fA-F:]+$/, 'must be an IP address'),
  /** Where etcdctl reaches this node's etcd from inside the VM. K3s listens on 127.0.0.1:2379. */
  etcdEndpoint: commandUrl.default('https://127.0.0.1:2379'),
  /** Needs PCIe passthrough on its Proxmox host (IOMMU groups must exist). */
  gpuPassthrough: z.boolean().default(false),
});

export const etcdTlsSchema = z.strictObject({
  caCert: absolutePath.default('/var/lib/rancher/k3s/server/tls/etcd/server-ca.crt'),
  cert: absolutePath.default('/var/lib/rancher/k3s/server/tls/etcd/client.crt'),
  key: absolutePath.default('/var/lib/rancher/k3s/server/tls/etcd/client.key'),
});

export const inventorySchema = z
  .strictObject({
    ssh: z
      .strictObject({
        user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'must be a Unix user name (a-z, 0-9, _, -)').default('root'),
        /** Private key file; without it the worker uses the agent at $SSH_AUTH_SOCK. */
        privateKeyPath: z.string().min(1).optional(),
        /** OpenSSH known_hosts file used to pin host keys. */
        knownHostsPath: z.string().min(1).optional(),
        readyTimeoutMs: z.number().int().positive().default(10_000),
        keepaliveIntervalMs: z.number().int().positive().default(5_000),
      })
      .prefault({}),
    /** Machines the worker reaches over SSH: the Proxmox hosts, and the Frigate node VM's own sshd (frigate.copy.nodeHost). */
    hosts: z.record(nameSchema, hostSchema),
    k3s: z.strictObject({
      /** URL of the K3s install script (https://get.k3s.io, or the lab's loopback copy). */
      installScriptUrl: commandUrl.default('https://get.k3s.io'),
      apiPort: z.number().int().min(1).max(65535).default(6443),
      etcd: etcdTlsSchema.prefault({}),
      nodes: z.record(nameSchema, k3sNodeSchema),
    }),
    /**
     * The approvers' names. With approvals.identity "names" these are who may approve (the `by` of an
     * approval); with "signatures" who may approve is the keys of approvals.allowedSigners.
     */
    approvers: z.array(z.string().min(1)).min(1),
    approvals: z
      .strictObject({
        /**
         * "signatures": a decision counts only with an OpenSSH signature (`ssh-keygen -Y sign`) by a key of
         * allowedSigners, verified by the worker. "names": the name alone (a single trusted operator).
         */
        identity: z.enum(['signatures', 'names']).default('signatures'),
        /** OpenSSH allowed_signers file on the worker's host (ssh-keygen(1) ALLOWED SIGNERS): the approvers' keys. */
        allowedSigners: absolutePath.optional(),
        /** Points of no return (e.g. removing an etcd member) need two distinct approvers. */
        twoPersonIrreversible: z.boolean().default(false),
        /** A gate left undecided this long ends the run safely, e.g. "24h". */
        deadline: durationSchema.optional(),
        /** Re-notify while a gate waits, e.g. "1h". */
        reminderEvery: durationSchema.optional(),
      })
      .prefault({}),
    /** Where a waiting gate is announced: an ntfy topic URL, or any URL taking a JSON POST. */
    notify: z
      .strictObject({
        url: z.url(),
        format: z.enum(['ntfy', 'json']).default('ntfy'),
        /** Base URL of the Temporal Web UI, for the link to the run. */
        uiBaseUrl: z.url().default('http://localhost:8233'),
        /** Sent as `Authorization: Bearer <token>` (ntfy access tokens); read from this environment variable. */
        tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
      })
      .optional(),
    /** Phase 2: the PBS datastore that moves with its disk (src/inventory/pbs.ts). */
    pbs: pbsSchema.optional(),
    /** Phase 3 and 4: the Frigate that moves into K3s and the LXC it leaves (src/inventory/frigate.ts). */
    frigate: frigateSchema.optional(),
    /** Written by the lab (lab/src/inventory.ts), never by hand: this homelab is the lab in `dir`, so a
     * manual step's instructions name the `npm run lab -- <verb>` that does it there. */
    lab: z.strictObject({ dir: absolutePath }).optional(),
  })
  .superRefine((inv, ctx) => {
    for (const issue of crossCheckInventory(inv)) ctx.addIssue({ code: 'custom', ...issue });
  });

/**
 * Checks that span several fields. Written for raw input too (zod skips refinements while any
 * field is invalid), so the loader can report these alongside the field errors in one pass.
 */
export function crossCheckInventory(raw: unknown): Array<{ path: (string | number)[]; message: string }> {
  const issues: Array<{ path: (string | number)[]; message: string }> = [];
  const obj = (v: unknown): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const inv = obj(raw);
  const hosts = obj(inv.hosts);
  for (const [name, node] of Object.entries(obj(obj(inv.k3s).nodes))) {
    const host = obj(node).host;
    if (typeof host === 'string' && !(host in hosts)) {
      issues.push({
        path: ['k3s', 'nodes', name, 'host'],
        message: `unknown host "${host}" (hosts: ${Object.keys(hosts).join(', ')})`,
      });
    }
  }
  const nodeHost = obj(obj(inv.frigate).copy).nodeHost;
  if (typeof nodeHost === 'string' && !(nodeHost in hosts)) {
    issues.push({
      path: ['frigate', 'copy', 'nodeHost'],
      message: `unknown host "${nodeHost}": list the node VM's sshd under hosts (hosts: ${Object.keys(hosts).join(', ')})`,
    });
  }
  const pinned = Object.values(hosts).every((h) => {
    const pins = obj(h).hostKeyFingerprints;
    return Array.isArray(pins) && pins.length > 0;
  });
  const approvals = obj(inv.approvals);
  if ((approvals.identity ?? 'signatures') === 'signatures' && approvals.allowedSigners === undefined) {
    issues.push({
      path: ['approvals', 'allowedSigners'],
      message: 'signed approvals need the allowed_signers file of the approvers\' keys (an absolute path on the worker\'s host), or set approvals.identity: names',
    });
  }
  if (!obj(inv.ssh).knownHostsPath && !pinned) {
    issues.push({
      path: ['ssh', 'knownHostsPath'],
      message: 'host keys must be pinned: set ssh.knownHostsPath or hostKeyFingerprints on every host',
    });
  }
  return issues;
}

export type Inventory = z.infer<typeof inventorySchema>;
export type InventoryHost = z.infer<typeof hostSchema>;
export type K3sNode = z.infer<typeof k3sNodeSchema>;
