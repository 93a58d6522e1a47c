// For working on the dashboard: serves a build (node build.mjs DIR --dev) at / and passes
// everything else to a running `callqa serve`, so that a change shows without rebuilding callqa.
//   node dev-server.mjs DIST_DIR http://127.0.0.1:8080 [PORT]
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const [dist, upstream, port = '5173'] = process.argv.slice(2);
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
const up = new URL(upstream);
http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  const file = u.pathname === '/' ? 'index.html' : u.pathname.startsWith('/assets/') ? u.pathname.slice(8) : null;
  if (file && !file.includes('/')) {
    try {
      const body = await readFile(path.join(dist, file));
      res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
    return;
  }
  const p = http.request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  p.on('error', () => res.writeHead(502).end());
  req.pipe(p);
}).listen(+port, '127.0.0.1');
