// The k3s-rejoin doc's commands and instructions, rendered by the rejoin's own renderers and
// instruction function with placeholder values.
import * as k3s from '../../activities/k3s/commands';
import { checkRejoinInput } from '../../workflows/k3s-rejoin-input';
import { enableVtd, K3S_REJOIN_STEPS } from '../../workflows/k3s-rejoin';
import { docInventory, P } from '../doc-inventory';
import type { RunbookDocSource } from '../types';

const healthyEndpoint = docInventory.k3s.nodes[P.healthyNode]!.etcdEndpoint;
const install: k3s.InstallParams = {
  installScriptUrl: docInventory.k3s.installScriptUrl,
  version: P.version,
  serverUrl: k3s.serverUrl(P.healthyAddress, docInventory.k3s.apiPort),
  serverFlags: [P.serverFlags],
  jobKey: P.jobKey,
};

export const k3sRejoinDoc: RunbookDocSource = {
  name: 'k3s-rejoin',
  source: 'src/workflows/k3s-rejoin.ts',
  steps: K3S_REJOIN_STEPS,
  defaults: checkRejoinInput({ node: P.node }),
  instructions: {
    'enable-vtd': { text: enableVtd({ host: P.host }), lab: enableVtd({ host: P.host, lab: { dir: P.labDir } }) },
  },
  commands: {
    'remove-stale-node': {
      on: "the healthy server node's VM (`<healthy node>`, through `qm guest exec`)",
      commands: [k3s.etcdctl(docInventory, healthyEndpoint, ['member', 'remove', P.staleMemberId]), k3s.kubectlDeleteNode(P.node)],
      onlyIfNeeded:
        '`member remove` only while the stale member is listed, `kubectl delete node` only while the node object exists. ' +
        "The member goes first: deleting an etcd node's object makes K3s remove a member itself.",
    },
    'uninstall-k3s': {
      on: "the stale node's VM (`<node>`)",
      commands: k3s.uninstallK3s(),
      onlyIfNeeded: 'nothing when K3s is not installed; K3s data without k3s-uninstall.sh stops the run (this runbook never runs rm -rf).',
      alsoRuns: [{ what: "first, the node's own settings and unit kept aside (k3s-uninstall.sh deletes /etc/rancher/k3s)", commands: [k3s.backupK3sEtc()] }],
    },
    'install-k3s': {
      on: "the stale node's VM (`<node>`); the join token is read on the healthy node",
      commands: k3s.installPlanLines(install),
      onlyIfNeeded: "a retry finds this run's install job (`install-<install job key>`) and waits for it; it never starts a second install.",
      alsoRuns: [
        { what: 'the job that starts the install in the VM (the join token comes on stdin, never in argv or history)', commands: [k3s.startInstallJob(install)] },
        { what: "the install job's state, polled until it is done", commands: [k3s.readInstallJob(P.jobKey)] },
        { what: "after the node joined, the kept copy of the node's settings is dropped (it may hold a token)", commands: [k3s.dropK3sEtcBackup()] },
      ],
    },
  },
};
