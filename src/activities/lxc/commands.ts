// The exact commands of the LXC retirement, quoted once here (run on the CT's Proxmox host).
import { shellCommand, validVmid } from '../exec/quote';

export const STORAGE_CFG = '/etc/pve/storage.cfg';

export const pctStatus = (ctid: number) => shellCommand(['pct', 'status', String(validVmid(ctid, 'ctid'))]);
export const pctConfig = (ctid: number) => shellCommand(['pct', 'config', String(validVmid(ctid, 'ctid'))]);
export const pctStop = (ctid: number) => shellCommand(['pct', 'stop', String(validVmid(ctid, 'ctid'))]);
/** onboot 0: pve-manager's startall (PVE/API2/Nodes.pm) starts only guests with onboot at the host's boot. */
export const pctSetOnboot = (ctid: number, on: boolean) => shellCommand(['pct', 'set', String(validVmid(ctid, 'ctid')), '--onboot', on ? '1' : '0']);
/** The way back for an operator, after the stop step turned onboot off. */
export const bringBack = (ctid: number) => `pct set ${validVmid(ctid, 'ctid')} --onboot 1 && pct start ${validVmid(ctid, 'ctid')}`;
/** --purge 1: also drop the CT from backup jobs and HA, so nothing refers to a CT that is gone. */
export const pctDestroy = (ctid: number) => shellCommand(['pct', 'destroy', String(validVmid(ctid, 'ctid')), '--purge', '1']);
export const vzdump = (ctid: number, storage: string) =>
  shellCommand(['vzdump', String(validVmid(ctid, 'ctid')), '--storage', storage, '--mode', 'snapshot']);
/** Every guest of the cluster with its node (pve-manager API2/Cluster.pm resources); one JSON line. */
export const clusterGuests = () => shellCommand(['pvesh', 'get', '/cluster/resources', '--type', 'vm', '--output-format', 'json']);
export const readStorageCfg = () => shellCommand(['cat', STORAGE_CFG]);
