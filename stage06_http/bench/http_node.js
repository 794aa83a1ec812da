// http_node.js - the node peer of bench/http.c: node's http module serving
// GET /hello with a small fixed body, keep-alive (node's default for 1.1).
//
//   node http_node.js PORT [HOST]      (HOST defaults to 127.0.0.1)
//
// The http module is node's usual way to serve HTTP: llhttp parses each
// request, and a request and a response object are made for it.  Runs until
// killed.
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
const host = process.argv[3] || '127.0.0.1';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node http_node.js PORT [HOST]\n');
  process.exit(2);
}

const body = Buffer.from('hello, world\n');
const server = http.createServer((req, res) => {
  if (req.url === '/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
    res.end('not found\n');
  }
});
server.keepAliveTimeout = 60000; // wrk's connections stay open for the run
server.on('clientError', (err, socket) => socket.destroy());
server.listen({ host, port, backlog: 1024 });
