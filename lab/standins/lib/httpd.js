'use strict';
// The lab's "get.k3s.io" and release downloads: a static file server for $LAB_DIR/www on loopback.
// Usage: httpd.js <www dir> <address> <port>
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const [root, host, port] = process.argv.slice(2);
http
  .createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
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
