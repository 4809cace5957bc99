using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;

namespace Ferry.Load.Kafka;

/// <summary>
/// One producer and one consumer through Confluent.Kafka on one partition. The payload carries a sequence
/// number and a send timestamp; the run fails unless every acknowledged message is consumed exactly once.
/// With --rate 0 the producer goes as fast as the broker takes it (throughput); with a rate it paces itself
/// and the consumer measures publish-to-consume latency.
/// </summary>
internal static class KafkaScenario
{
    public static async Task<int> RunAsync(LoadOptions options)
    {
        Librdkafka.Load();
        string topic = $"load-{options.Size}-{Guid.NewGuid():N}";
        var acks = options.Acks == "all" ? Acks.All : Acks.Leader;
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = options.Target,
            Acks = acks,
            EnableIdempotence = acks == Acks.All,
            LingerMs = options.Rate > 0 ? 0 : 5,
            BatchSize = 1 << 20,
            QueueBufferingMaxMessages = 1_000_000,
            QueueBufferingMaxKbytes = 1 << 20,
            CompressionType = CompressionType.None,
        };
        var consumerConfig = new ConsumerConfig
        {
            BootstrapServers = options.Target,
            GroupId = "load",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 10,
            FetchMinBytes = 1,
            FetchMaxBytes = 64 << 20,
            MaxPartitionFetchBytes = 16 << 20,
            QueuedMaxMessagesKbytes = 256 << 10,
        };

        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = options.Target }).Build())
        {
            await admin.CreateTopicsAsync([new Confluent.Kafka.Admin.TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }]);
        }

        var latency = new LatencyRecorder();
        long acknowledged = 0, failed = 0, consumed = 0, duplicates = 0;
        var seen = new System.Collections.BitArray(1 << 26);
        using var stopConsumer = new CancellationTokenSource();
        long lastSequence = -1;

        var consumer = Task.Factory.StartNew(() =>
        {
            using var c = new ConsumerBuilder<Ignore, byte[]>(consumerConfig).Build();
            c.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
            while (!stopConsumer.IsCancellationRequested || Interlocked.Read(ref consumed) < Interlocked.Read(ref acknowledged))
            {
                var result = c.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message?.Value is not { } value) continue;
                long sequence = BinaryPrimitives.ReadInt64LittleEndian(value);
                // The first second (connections, metadata, first fetch) is warm-up, not steady-state latency.
                if (options.Rate > 0 && sequence >= options.Rate) latency.Record(BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(8)));
                if (seen[(int)sequence]) duplicates++;
                seen[(int)sequence] = true;
                Interlocked.Increment(ref consumed);
                if (stopConsumer.IsCancellationRequested && sequence == Interlocked.Read(ref lastSequence)) break;
            }
        }, TaskCreationOptions.LongRunning);

        var payload = new byte[Math.Max(options.Size, 16)];
        var sw = Stopwatch.StartNew();
        long sent = 0;
        long allocatedBefore = GC.GetTotalAllocatedBytes();
        using (var producer = new ProducerBuilder<Null, byte[]>(producerConfig).Build())
        {
            Action<DeliveryReport<Null, byte[]>> report = r =>
            {
                if (r.Error.IsError) Interlocked.Increment(ref failed);
                else Interlocked.Increment(ref acknowledged);
            };
            while (sw.Elapsed.TotalSeconds < options.Seconds)
            {
                if (options.Rate > 0)
                {
                    long due = (long)(sw.Elapsed.TotalSeconds * options.Rate);
                    if (sent >= due)
                    {
                        // Sleep, not spin: on a 2-core machine a spinning client would starve the broker it measures.
                        Thread.Sleep(1);
                        continue;
                    }
                }
                var value = new byte[payload.Length];
                BinaryPrimitives.WriteInt64LittleEndian(value, sent);
                BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(8), LatencyRecorder.Now);
                try
                {
                    producer.Produce(topic, new Message<Null, byte[]> { Value = value }, report);
                    sent++;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }
            producer.Flush(TimeSpan.FromSeconds(60));
        }
        double produceSeconds = sw.Elapsed.TotalSeconds;
        Interlocked.Exchange(ref lastSequence, sent - 1);
        stopConsumer.Cancel();
        await consumer.WaitAsync(TimeSpan.FromSeconds(120));
        double totalSeconds = sw.Elapsed.TotalSeconds;

        bool exact = failed == 0 && acknowledged == sent && consumed == acknowledged && duplicates == 0;
        double msgPerSecond = acknowledged / produceSeconds;
        double mbPerSecond = acknowledged * (double)payload.Length / produceSeconds / 1e6;
        double consumePerSecond = consumed / totalSeconds;
        var (p50, p99, p999, samples) = latency.Percentiles();
        string mode = options.Rate > 0 ? $"latency@{options.Rate}/s" : "throughput";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"system":"{{options.Label}}","scenario":"kafka acks={{options.Acks}} {{payload.Length}}B","mode":"{{mode}}","sent":{{sent}},"acked":{{acknowledged}},"consumed":{{consumed}},"duplicates":{{duplicates}},"exactlyOnce":{{(exact ? "true" : "false")}},"produceMsgPerSec":{{msgPerSecond:F0}},"produceMBPerSec":{{mbPerSecond:F1}},"consumeMsgPerSec":{{consumePerSecond:F0}},"p50us":{{p50:F0}},"p99us":{{p99:F0}},"p999us":{{p999:F0}},"latencySamples":{{samples}},"clientAllocatedMB":{{(GC.GetTotalAllocatedBytes() - allocatedBefore) / 1e6:F0}}}"""));
        return exact ? 0 : 1;
    }
}
