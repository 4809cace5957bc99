// kafkajs against Ferry: admin, idempotent produce, and a consumer group reading everything back.
// Usage: node roundtrip.js HOST:PORT TOPIC COUNT — prints the consumed values, one per line, then "done".
const { Kafka, logLevel, Partitioners } = require('kafkajs');

const [broker, topic, countText] = process.argv.slice(2);
const count = Number(countText);
const kafka = new Kafka({ clientId: 'ferry-kafkajs', brokers: [broker], logLevel: logLevel.NOTHING });

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  const offsets = () => admin.fetchTopicOffsets(topic);

  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const messages = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { n: `${i}` } }));
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
  const written = (await offsets()).reduce((sum, p) => sum + Number(p.high), 0);
  if (written !== count) throw new Error(`high watermarks sum to ${written}, expected ${count}`);

  const consumer = kafka.consumer({ groupId: `${topic}-group`, sessionTimeout: 10000, rebalanceTimeout: 10000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${count}`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        if (message.headers.n.toString() !== message.value.toString().slice(1)) throw new Error('header mismatch');
        seen.push(message.value.toString());
        if (seen.length === count) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  const committed = await admin.fetchOffsets({ groupId: `${topic}-group`, topics: [topic] });
  const committedSum = committed[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0);
  await admin.disconnect();
  for (const value of seen.sort()) console.log(value);
  console.log(`committed ${committedSum}`);
  console.log('done');
}

main().catch(error => { console.error(error); process.exit(1); });
