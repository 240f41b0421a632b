'use strict';
// PCIe devices of the lab's Proxmox hosts (lspci) and what a VM sees of them (/dev, vainfo).
// State: hosts/<h>/pci.json (device keys on that host's bus), hosts/<h>/vms/<id>/passthrough (one key a line).
const fs = require('node:fs');
const path = require('node:path');
const c = require('./common.js');

// Every host's own devices (lspci -nnk), then the ones that can be passed through; names as pci.ids words
// them (pciutils lib/names.c), the driver and module lines as ls-kernel.c show_kernel prints them.
const BASE = [
  ['00:00.0', 'Host bridge [0600]: Intel Corporation 8th Gen Core Processor Host Bridge/DRAM Registers [8086:3ec2] (rev 07)',
    ['Subsystem: ASUSTeK Computer Inc. PRIME H310M-E [1043:8694]', 'Kernel driver in use: skl_uncore']],
  ['00:14.0', 'USB controller [0c03]: Intel Corporation Cannon Lake PCH USB 3.1 xHCI Host Controller [8086:a36d] (rev 10)',
    ['Subsystem: ASUSTeK Computer Inc. Device [1043:8694]', 'Kernel driver in use: xhci_hcd', 'Kernel modules: xhci_pci']],
  ['00:17.0', 'SATA controller [0106]: Intel Corporation Cannon Lake PCH SATA AHCI Controller [8086:a352] (rev 10)',
    ['Subsystem: ASUSTeK Computer Inc. Device [1043:8694]', 'Kernel driver in use: ahci', 'Kernel modules: ahci']],
  ['00:1f.6', 'Ethernet controller [0200]: Intel Corporation Ethernet Connection (7) I219-V [8086:15bc] (rev 10)',
    ['Subsystem: ASUSTeK Computer Inc. Device [1043:8672]', 'Kernel driver in use: e1000e', 'Kernel modules: e1000e']],
];
const PASSABLE = {
  gpu: [
    ['01:00.0', 'VGA compatible controller [0300]: Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere [Radeon RX 470/480/570/570X/580/580X/590] [1002:67df] (rev e7)',
      ['Subsystem: Sapphire Technology Limited Nitro+ Radeon RX 580 4GB [1da2:e366]', 'Kernel driver in use: vfio-pci', 'Kernel modules: amdgpu']],
    ['01:00.1', 'Audio device [0403]: Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere HDMI Audio [Radeon RX 470/480 / 570/580/590] [1002:aaf0]',
      ['Subsystem: Sapphire Technology Limited Ellesmere HDMI Audio [Radeon RX 470/480 / 570/580/590] [1da2:aaf0]', 'Kernel driver in use: vfio-pci', 'Kernel modules: snd_hda_intel']],
  ],
  coral: [
    ['03:00.0', 'System peripheral [0880]: Global Unichip Corp. Coral Edge TPU [1ac1:089a]',
      ['Subsystem: Global Unichip Corp. Coral Edge TPU [1ac1:089a]', 'Kernel driver in use: vfio-pci', 'Kernel modules: apex']],
  ],
};

/** Device keys on a host's PCI bus. */
function hostDevices(host) {
  return c.readJson(path.join(c.LAB_DIR, 'hosts', host, 'pci.json'), []);
}

/** Device keys passed through to (and seen by the driver of) a VM. */
function vmDevices(host, vmid) {
  try {
    return fs.readFileSync(path.join(c.vmDir(host, vmid), 'passthrough'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The device nodes a VM has (what hostPath type checks see). */
function vmDevicePaths(host, vmid) {
  const keys = vmDevices(host, vmid);
  return [
    ...(keys.includes('coral') ? ['/dev/apex_0'] : []),
    ...(keys.includes('gpu') ? ['/dev/dri', '/dev/dri/card0', '/dev/dri/renderD128'] : []),
  ];
}

/** lspci's devices on a host, sorted by slot: [slot, text, sub-lines]. */
function lspciRows(host) {
  const rows = [...BASE];
  for (const key of hostDevices(host)) rows.push(...(PASSABLE[key] || []));
  return rows.sort((a, b) => a[0].localeCompare(b[0]));
}

module.exports = { hostDevices, vmDevices, vmDevicePaths, lspciRows, PASSABLE };
