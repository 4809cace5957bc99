using System.Diagnostics;
using Confluent.Kafka;
using Ferry.Load.Common;

namespace Ferry.Load.Kafka;

/// <summary>
/// Produce-only: N producers (own connections, own threads) each on its own partition of one topic, as fast
/// as the broker takes them. The timed part has no consumer; afterwards one consumer reads the topic back
/// and the run fails unless every acknowledged message is there exactly once. Producer p numbers its
/// messages p * 2^24 + i, so one set of sequence numbers covers all of them. The producers are Confluent.Kafka
/// (<c>--client librdkafka</c>, the default) or <see cref="WireProducer"/> (<c>--client wire</c>), which leaves
/// the broker the cores librdkafka would take; the read-back is Confluent.Kafka either way. <c>--client txn</c>:
/// Confluent.Kafka transactional producers (acks=all, idempotent), each committing a transaction every
/// <see cref="TransactionRecords"/> messages; the read-back is read_committed, so only committed messages count.
/// </summary>
internal static class KafkaProduceScenario
{
    private const int SequenceStride = 1 << 24;
    private const int TransactionRecords = 10_000;

    public static async Task<int> RunAsync(LoadOptions options)
    {
        Librdkafka.Load();
        int producers = options.Producers;
        string topic = $"produce-{options.Size}-{Guid.NewGuid():N}";
        await KafkaClients.CreateTopicAsync(options, topic, producers);

        var delivery = new Delivery(long.MaxValue);
        var sw = Stopwatch.StartNew();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        Result.MarkStart();
        var sentBy = new long[producers];
        bool wire = options.Client == "wire", transactional = options.Client == "txn";
        var threads = Enumerable.Range(0, producers).Select(p => new Thread(() =>
            sentBy[p] = wire ? ProduceWire(options, topic, p, delivery, sw) : ProduceLibrdkafka(options, topic, p, delivery, sw, transactional))
        {
            IsBackground = true,
            Name = $"producer-{p}",
        }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        double produceSeconds = sw.Elapsed.TotalSeconds;
        long sent = sentBy.Sum();
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;

        // Read-back check, not timed as part of the produce figure; its own rate is reported as "consume".
        var readBack = Stopwatch.StartNew();
        using (var c = new ConsumerBuilder<Ignore, Stamp>(KafkaClients.Consumer(options)).SetValueDeserializer(StampDeserializer.Instance).Build())
        {
            c.Assign(Enumerable.Range(0, producers).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
            var idle = Stopwatch.StartNew();
            while (!delivery.CaughtUp(delivery.Acked) && idle.Elapsed < TimeSpan.FromSeconds(30))
            {
                var result = c.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message is not { } message) continue;
                delivery.OnReceived(message.Value, recordLatency: false);
                idle.Restart();
            }
        }
        await KafkaClients.DeleteTopicAsync(options, topic);
        return Result.Print(options with { Label = options.Label }, $"kafka produce {producers}x acks={options.Acks}{(wire ? " wire" : transactional ? " transactional" : "")}", options.Size, sent, delivery,
            produceSeconds, readBack.Elapsed.TotalSeconds, allocated);
    }

    private static long ProduceLibrdkafka(LoadOptions options, string topic, int p, Delivery delivery, Stopwatch sw, bool transactional)
    {
        var payload = new byte[options.Size];
        var message = new Message<Null, byte[]> { Value = payload };
        var partition = new TopicPartition(topic, p);
        Action<DeliveryReport<Null, byte[]>> report = r =>
        {
            if (r.Error.IsError) delivery.OnFailed();
            else delivery.OnAcked();
        };
        var config = KafkaClients.Producer(options);
        if (transactional)
        {
            config.TransactionalId = $"{topic}-{p}";
            config.Acks = Acks.All;
            config.EnableIdempotence = true;
        }
        using var producer = new ProducerBuilder<Null, byte[]>(config).Build();
        if (transactional)
        {
            producer.InitTransactions(TimeSpan.FromSeconds(30));
            producer.BeginTransaction();
        }
        long i = 0;
        while (sw.Elapsed.TotalSeconds < options.Seconds && i < SequenceStride)
        {
            if (transactional && i > 0 && i % TransactionRecords == 0)
            {
                producer.CommitTransaction(TimeSpan.FromSeconds(60));
                producer.BeginTransaction();
            }
            new Stamp(p * (long)SequenceStride + i, LatencyRecorder.Now).Write(payload);
            try
            {
                producer.Produce(partition, message, report);
                i++;
            }
            catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(1));
            }
        }
        if (transactional) producer.CommitTransaction(TimeSpan.FromSeconds(60));
        else producer.Flush(TimeSpan.FromSeconds(60));
        return i;
    }

    private static long ProduceWire(LoadOptions options, string topic, int p, Delivery delivery, Stopwatch sw)
    {
        using var producer = new WireProducer(options.TargetHostAndPort, topic, p, options.Size, options.Acks == "all" ? (short)-1 : (short)1, delivery);
        long i = 0;
        while (sw.Elapsed.TotalSeconds < options.Seconds && i + producer.RecordsPerBatch <= SequenceStride)
        {
            producer.Send(p * (long)SequenceStride + i);
            i += producer.RecordsPerBatch;
        }
        producer.Drain();
        return i;
    }
}
