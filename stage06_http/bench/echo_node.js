// echo_node.js - the node peer of bench/echo.c: an echo server on node's
// net module (libuv underneath, plus V8 and node's stream machinery).
//
// Listens on 127.0.0.1, a port the kernel picks, and prints that port on one
// line once it accepts.  Runs until killed.
'use strict';
const net = require('net');

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  socket.on('data', (data) => socket.write(data));
  socket.on('error', () => socket.destroy()); // a reset by the load client
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
  process.stdout.write(server.address().port + '\n');
});
