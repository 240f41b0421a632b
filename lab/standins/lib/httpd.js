'use strict';
// The lab's "get.k3s.io" and release downloads: a static file server for $LAB_DIR/www on loopback.
// Usage: httpd.js <www dir> <address> <port>
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const [root, host, port] = process.argv.slice(2);
const faultFile = process.env.LAB_DIR ? path.join(process.env.LAB_DIR, 'faults', 'http-fail.json') : null;
function readFault() {
  try {
    return faultFile ? JSON.parse(fs.readFileSync(faultFile, 'utf8')) : null;
  } catch {
    return null;
  }
}
http
  .createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    // Fault lab.failDownload(path, status): this path answers with an error, as a CDN or proxy can (curl -f then exits 22)
    const fault = readFault();
    if (fault && fault.path === rel) {
      res.writeHead(fault.status, { 'content-type': 'text/plain' });
      return res.end(`${fault.status} fault injected by the lab\n`);
    }
    const file = path.join(root, path.normalize(rel).replace(/^(\.\.[/\\])+/, ''));
    fs.readFile(file, (err, data) => {
      if (err || !file.startsWith(root)) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('Not Found\n');
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  })
  .listen(Number(port), host);
process.on('SIGTERM', () => process.exit(0));
