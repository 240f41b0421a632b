'use strict';
// `audit.js <tool> argv...`: the audit line for stand-ins written in shell (etcdctl wrapper,
// install.sh, k3s-uninstall.sh). Decides "change" per tool.
const c = require('./common.js');

const [tool, ...argv] = process.argv.slice(2);
// etcdctl's global flags that take a value as the next word (`--flag=value` needs no skipping)
const VALUED = new Set(['--cacert', '--cert', '--key', '--endpoints', '--dial-timeout', '--command-timeout',
  '--keepalive-time', '--keepalive-timeout', '-w', '--write-out', '--user', '--password', '--discovery-srv',
  '--discovery-srv-name']);
const words = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a.startsWith('-')) {
    if (VALUED.has(a)) i++;
    continue;
  }
  words.push(a);
}
let change = false;
if (tool === 'etcdctl') {
  const [a, b] = words;
  change =
    (a === 'member' && ['add', 'remove', 'promote', 'update'].includes(b)) ||
    ['put', 'del', 'defrag', 'compaction', 'move-leader'].includes(a) ||
    (a === 'alarm' && b === 'disarm') ||
    (a === 'snapshot' && b === 'restore');
} else if (tool === 'install.sh' || tool === 'k3s-uninstall.sh' || tool === 'k3s-killall.sh') {
  change = true;
}
c.audit(tool, argv, change);
