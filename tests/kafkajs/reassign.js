// kafkajs moves a partition onto other brokers (KIP-455) and follows the move until it completes.
// Usage: node reassign.js HOST:PORT[,HOST:PORT...] TOPIC PARTITION REPLICA[,REPLICA...]
// Prints "listed <json>" for the first listing after the move began and "done <ms>" once no move is listed.
const { Kafka, logLevel } = require('kafkajs');

const [brokers, topic, partitionText, replicasText] = process.argv.slice(2);
const partition = Number(partitionText);
const replicas = replicasText.split(',').map(Number);
const kafka = new Kafka({ clientId: 'ferry-kafkajs-reassign', brokers: brokers.split(','), logLevel: logLevel.NOTHING });

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const started = Date.now();
  await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition, replicas }] }] });
  let first = true;
  for (;;) {
    const { topics } = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [partition] }] });
    if (first) console.log(`listed ${JSON.stringify(topics)}`);
    first = false;
    if (topics.length === 0) break;
    if (Date.now() - started > 60000) throw new Error(`still moving after 60 s: ${JSON.stringify(topics)}`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  console.log(`done ${Date.now() - started}`);
  await admin.disconnect();
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
