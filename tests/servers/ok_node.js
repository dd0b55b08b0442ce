// Correct server: Node.js `net` with allowHalfOpen; each socket is piped through an uppercasing
// Transform back into itself with stream.pipeline (backpressure, flush-then-end on half-close,
// teardown of that connection only on error).
// Usage: node ok_node.js PORT [HOST]
'use strict';
const net = require('net');
const { Transform, pipeline } = require('stream');

function upper(chunk) {
  const out = Buffer.from(chunk);
  for (let i = 0; i < out.length; i++) if (out[i] >= 0x61 && out[i] <= 0x7a) out[i] -= 0x20;
  return out;
}

const port = Number(process.argv[2]);
const host = process.argv[3] || '127.0.0.1';
net.createServer({ allowHalfOpen: true }, (socket) => {
  const up = new Transform({ transform(chunk, _enc, done) { done(null, upper(chunk)); } });
  pipeline(socket, up, socket, () => socket.destroy());
}).listen({ port, host, backlog: 512 });
