using System.Diagnostics;
using Confluent.Kafka;
using Ferry.Load.Common;

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
        await KafkaClients.CreateTopicAsync(options, topic, 1);

        var delivery = new Delivery(options.WarmupSequences);
        using var producing = new CancellationTokenSource();
        long expected = long.MaxValue;
        var sw = Stopwatch.StartNew();
        double consumeSeconds = 0;

        var consumer = Task.Factory.StartNew(() =>
        {
            using var c = new ConsumerBuilder<Ignore, Stamp>(KafkaClients.Consumer(options)).SetValueDeserializer(StampDeserializer.Instance).Build();
            c.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
            // Drains whatever backlog the producer left, giving up only when nothing arrives for a while.
            var idle = Stopwatch.StartNew();
            while (!delivery.CaughtUp(Interlocked.Read(ref expected)))
            {
                if (producing.IsCancellationRequested && idle.Elapsed > Delivery.IdleLimit) break;
                var result = c.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message is not { } message) continue;
                delivery.OnReceived(message.Value);
                idle.Restart();
            }
            consumeSeconds = sw.Elapsed.TotalSeconds;
        }, TaskCreationOptions.LongRunning);

        // librdkafka copies the value inside Produce, so one buffer and one message object serve every send.
        var payload = new byte[options.Size];
        var message = new Message<Null, byte[]> { Value = payload };
        Action<DeliveryReport<Null, byte[]>> report = r =>
        {
            if (r.Error.IsError) delivery.OnFailed();
            else delivery.OnAcked();
        };
        var pacer = new Pacer(options.Rate);
        long sent = 0;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        Result.MarkStart();
        using (var producer = new ProducerBuilder<Null, byte[]>(KafkaClients.Producer(options)).Build())
        {
            while (sw.Elapsed.TotalSeconds < options.Seconds)
            {
                for (long n = pacer.Allowance(sent); n > 0 && sw.Elapsed.TotalSeconds < options.Seconds; n--)
                {
                    new Stamp(sent, LatencyRecorder.Now).Write(payload);
                    try
                    {
                        producer.Produce(topic, message, report);
                        sent++;
                    }
                    catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(1));
                        break;
                    }
                }
            }
            producer.Flush(TimeSpan.FromSeconds(60));
        }
        double produceSeconds = sw.Elapsed.TotalSeconds;
        Interlocked.Exchange(ref expected, sent);
        producing.Cancel();
        await consumer;
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        await KafkaClients.DeleteTopicAsync(options, topic);

        return Result.Print(options, $"kafka acks={options.Acks}", options.Size, sent, delivery, produceSeconds, consumeSeconds, allocated);
    }
}
