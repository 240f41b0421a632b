// Inventory section `frigate` (Phases 3 and 4): the Frigate that moves into K3s, and the LXC it leaves.
import { z } from 'zod';
import { absolutePath, commandUrl, nameSchema } from './primitives';

const pciId = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{4}$/, 'must be a PCI vendor:device id like 1ac1:089a');
const labelKey = z.string().regex(/^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/, 'must be a Kubernetes label key');
const labelValue = z.string().regex(/^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/, 'must be a Kubernetes label value');
const image = z.string().regex(/^[a-z0-9][a-z0-9./_-]{0,200}(:[A-Za-z0-9._-]{1,128})?(@sha256:[0-9a-f]{64})?$/, 'must be a container image reference');

export const frigateSchema = z.strictObject({
  /** The K3s node Frigate is pinned to (key of `k3s.nodes`). */
  node: nameSchema,
  /** Today's Frigate: an LXC on a Proxmox host. */
  lxc: z.strictObject({
    host: nameSchema,
    ctid: z.number().int().min(100).max(999_999_999),
    /** systemd unit of Frigate inside the CT. */
    service: nameSchema.default('frigate'),
    /** Frigate's config file inside the CT. */
    configPath: absolutePath.default('/config/config.yml'),
    /** Frigate's media dir inside the CT (recordings under recordings/<date>/<hour>/<camera>/). */
    mediaPath: absolutePath.default('/media/frigate'),
  }),
  /** Kubernetes namespace and Deployment name. */
  namespace: nameSchema.default('frigate'),
  name: nameSchema.default('frigate'),
  image: image.default('ghcr.io/blakeblackshear/frigate:0.14.1'),
  /** The label that pins Frigate to its node (nodeSelector). */
  nodeLabel: z.strictObject({ key: labelKey, value: labelValue }).default({ key: 'homelab/frigate', value: 'true' }),
  /** Frigate's API as reached from inside the node's VM (hostNetwork pod, chart port 5000, no auth). */
  apiUrl: commandUrl.default('http://127.0.0.1:5000'),
  /** PCI ids that must be on the host's bus and bound to vfio-pci. */
  pci: z.strictObject({ coral: pciId.default('1ac1:089a'), gpu: pciId.default('1002:67df') }).prefault({}),
  /** Device nodes inside the VM (hostPath volumes of the pod). */
  devices: z.strictObject({ coral: absolutePath.default('/dev/apex_0'), dri: absolutePath.default('/dev/dri'), render: absolutePath.default('/dev/dri/renderD128') }).prefault({}),
  /** hostPath dirs on the node VM for Frigate's /config and /media/frigate. */
  hostPaths: z.strictObject({ config: absolutePath.default('/var/lib/frigate/config'), media: absolutePath.default('/var/lib/frigate/media') }).prefault({}),
  /** Which recordings move with Frigate: the last `recentHours`, at most `maxCopyMiB` in all. */
  copy: z.strictObject({
    recentHours: z.number().int().min(1).max(24 * 30).default(24),
    maxCopyMiB: z.number().int().min(1).max(1024 * 64).default(512),
    /**
     * The node VM's own sshd, as a key of `hosts`: the copy streams into it (tar through one SSH channel
     * out of the CT, into the VM through another, sha256 checked at both ends). Without it the copy goes
     * through the guest agent: at most 1 MiB per `qm guest exec`, each at least a second (slow).
     */
    nodeHost: nameSchema.optional(),
    /** Recordings stream in batches of this many MiB: a crash re-sends at most the batch in flight. */
    batchMiB: z.number().int().min(1).max(4096).default(256),
  }).prefault({}),
  /** Health: a Coral answers in a few ms (5-10 typical); every camera above this fps. */
  health: z.strictObject({
    maxInferenceMs: z.number().positive().max(1000).default(15),
    minCameraFps: z.number().min(0).max(120).default(0),
  }).prefault({}),
});

export type FrigateInventory = z.infer<typeof frigateSchema>;
