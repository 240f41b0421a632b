// `npm run lab -- up|down|status`: run a lab in the background for manual runs and rehearsals.
import { Command, InvalidArgumentError } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab } from './index';
import { registerVerbs } from './verbs';

const DEFAULT_DIR = path.join('.data', 'lab');

function iommu(value: string, acc: Record<string, number>): Record<string, number> {
  const m = /^([a-z0-9-]+)=(\d+)$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected host=N, e.g. still-fawn=0');
  return { ...acc, [m[1]!]: Number(m[2]) };
}

const program = new Command('lab').description('A local homelab on loopback: real sshd and etcd, stand-in Proxmox/K3s tools.');

program
  .command('up')
  .description('start a lab in the background; prints its directory and inventory path')
  .option('--dir <dir>', 'state directory', DEFAULT_DIR)
  .option('--iommu-groups <host=N>', 'IOMMU group count of a host (repeatable)', iommu, {})
  .option('--rejoined', 'start with a healthy cluster, as after the rejoin (to rehearse Phases 2-4 alone)', false)
  .action(async (o: { dir: string; iommuGroups: Record<string, number>; rejoined: boolean }) => {
    const t = Date.now();
    const lab = await Lab.start({ dir: o.dir, iommuGroups: o.iommuGroups, staleNode: !o.rejoined, stopOnExit: false });
    console.log(`lab up in ${((Date.now() - t) / 1000).toFixed(1)} s (subnet ${lab.subnet}.x)`);
    console.log(`dir:       ${lab.dir}`);
    console.log(`inventory: ${lab.inventoryPath}`);
    console.log(`ssh:       ssh -i ${lab.clientKeyPath} -o UserKnownHostsFile=${lab.knownHostsPath} -p 2222 root@${lab.subnet}.1`);
  });

program
  .command('down')
  .description('stop the lab and remove its directory')
  .option('--dir <dir>', 'state directory', DEFAULT_DIR)
  .action(async (o: { dir: string }) => {
    const lab = Lab.attach(o.dir);
    await lab.stop();
    console.log(`lab down (${lab.dir})`);
  });

program
  .command('status')
  .description('etcd members and health, Kubernetes nodes, the PBS storage, Frigate, the old LXC')
  .option('--dir <dir>', 'state directory', DEFAULT_DIR)
  .action(async (o: { dir: string }) => {
    if (!fs.existsSync(path.join(o.dir, 'lab.json'))) throw new Error(`no lab in ${o.dir}`);
    const lab = Lab.attach(o.dir);
    const pbs = lab.pbs.storage();
    console.log(
      JSON.stringify(
        {
          members: await lab.etcdMembers(),
          health: await lab.endpointHealth(),
          nodes: await lab.kubeNodes(),
          pbsStorage: pbs && { servedBy: pbs.host, server: pbs.props.server, datastore: pbs.props.datastore },
          frigateDeployments: lab.frigate.deployments().map((d) => `${d.namespace}/${d.name} on ${JSON.stringify(d.nodeSelector)}`),
          frigateLxc: lab.lxc.container('fun-bedbug', 113)?.status ?? 'destroyed',
        },
        null,
        2,
      ),
    );
  });

registerVerbs(program); // the manual steps' verbs (lab/src/verbs.ts)

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`lab: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
