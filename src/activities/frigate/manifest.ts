// The Kubernetes objects of Frigate on its node, as the blakeshome chart would render them with
// coral.enabled + coral.hostPath=/dev/apex_0, /dev/dri as an extra hostPath volume,
// LIBVA_DRIVER_NAME=radeonsi, privileged, nodeSelector, shm 1Gi (the chart itself not re-read). hostNetwork:
// the API (5000) and RTSP answer on the node's address. Config and media are hostPath dirs on the node.
import type { FrigateInventory } from '../../inventory/frigate';

export const APP_LABEL = 'app.kubernetes.io/name';

export function frigateManifest(f: FrigateInventory): Record<string, unknown> {
  const labels = { [APP_LABEL]: 'frigate', 'app.kubernetes.io/instance': f.name };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: f.name, namespace: f.namespace, labels },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      strategy: { type: 'Recreate' }, // one Frigate at a time owns the Coral
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { [f.nodeLabel.key]: f.nodeLabel.value },
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          containers: [
            {
              name: 'frigate',
              image: f.image,
              imagePullPolicy: 'IfNotPresent',
              ports: [
                { name: 'http', containerPort: 5000, protocol: 'TCP' },
                { name: 'http-auth', containerPort: 8971, protocol: 'TCP' },
                { name: 'rtsp', containerPort: 8554, protocol: 'TCP' },
              ],
              env: [{ name: 'LIBVA_DRIVER_NAME', value: 'radeonsi' }],
              securityContext: { privileged: true },
              livenessProbe: { httpGet: { path: '/api/version', port: 'http' }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 5 },
              volumeMounts: [
                { name: 'config', mountPath: '/config' },
                { name: 'media', mountPath: '/media/frigate' },
                { name: 'coral', mountPath: f.devices.coral },
                { name: 'dri', mountPath: f.devices.dri },
                { name: 'dshm', mountPath: '/dev/shm' },
              ],
            },
          ],
          volumes: [
            { name: 'config', hostPath: { path: f.hostPaths.config, type: 'DirectoryOrCreate' } },
            { name: 'media', hostPath: { path: f.hostPaths.media, type: 'DirectoryOrCreate' } },
            { name: 'coral', hostPath: { path: f.devices.coral, type: 'CharDevice' } },
            { name: 'dri', hostPath: { path: f.devices.dri, type: 'Directory' } },
            { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
          ],
        },
      },
    },
  };
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: f.namespace } }, deployment],
  };
}
