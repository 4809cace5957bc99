// amqplib against Ferry: publisher confirms, a prefetch-limited consumer that acknowledges, a reject that
// dead-letters nothing but requeues, and a close sent while megabytes of publishes are still being written
// (amqplib's multiplexer sends the connection's close ahead of what its channels buffer, then goes on writing).
// Prints "confirmed N", "consumed N in order", "redelivered", "closed", then "done".
const amqp = require('amqplib');

const [url, queue, countArg] = process.argv.slice(2);
const count = Number(countArg);

async function roundTrip() {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  await ch.purgeQueue(queue);
  for (let i = 0; i < count; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: true, headers: { n: i } });
  await ch.waitForConfirms();
  console.log(`confirmed ${count}`);

  const consumer = await conn.createChannel();
  await consumer.prefetch(10);
  const seen = [];
  let redelivered = false;
  await new Promise((resolve, reject) => {
    consumer.consume(queue, msg => {
      const n = msg.properties.headers.n;
      if (n === 0 && !msg.fields.redelivered) { consumer.nack(msg, false, true); return; } // requeued once
      if (n === 0) redelivered = true;
      if (msg.content.toString() !== `m${n}`) { reject(new Error(`body ${msg.content} for n=${n}`)); return; }
      seen.push(n);
      consumer.ack(msg);
      if (seen.length === count) resolve();
    }).catch(reject);
  });
  const sorted = [...seen].sort((a, b) => a - b);
  if (!sorted.every((n, i) => n === i)) throw new Error(`consumed ${seen.length}, not each of 0..${count - 1} once`);
  console.log(`consumed ${seen.length} in order`);
  if (!redelivered) throw new Error('the requeued message did not come back marked redelivered');
  console.log('redelivered');
  await conn.close();
}

async function closeDuringBurst() {
  const conn = await amqp.connect(url);
  const errors = [];
  conn.on('error', e => errors.push(e));
  const socketClosed = new Promise(resolve => conn.on('close', resolve));
  const ch = await conn.createChannel();
  const body = Buffer.alloc(64 * 1024, 0x61);
  for (let i = 0; i < 400; i++) ch.sendToQueue(queue + '-burst', body);
  await conn.close();
  await socketClosed;
  if (errors.length > 0) throw errors[0];
  console.log('closed');
}

const timer = setTimeout(() => { console.error('timed out'); process.exit(3); }, 60000);
roundTrip().then(closeDuringBurst).then(() => { clearTimeout(timer); console.log('done'); },
  e => { console.error(e && e.stack || String(e)); process.exit(1); });
