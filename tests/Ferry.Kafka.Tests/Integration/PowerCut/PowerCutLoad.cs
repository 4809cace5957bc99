using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Ferry.Kafka.Tests.Integration.PowerCut;

/// <summary>
/// The load a power cut lands in, and what the broker acknowledged of it: idempotent acks=all produce, a group
/// consumer committing its offsets synchronously, AMQP publishes with confirms to a durable queue, and an AMQP
/// consumer acknowledging part of the queue (so that settled segments are deleted and the queue's acks files and
/// checkpoints written). Only what the broker answered before the cut is recorded: it must all survive.
/// </summary>
internal sealed class PowerCutLoad
{
    public const string Topic = "power", Queue = "power-q", Group = "power-group";

    /// <summary>Kafka values acknowledged, with their offsets.</summary>
    public ConcurrentDictionary<string, long> Produced { get; } = new();

    /// <summary>AMQP bodies the broker confirmed.</summary>
    public ConcurrentDictionary<string, bool> Confirmed { get; } = new();

    /// <summary>AMQP bodies this load's consumer acknowledged: the broker may forget them (an ack is not confirmed).</summary>
    public ConcurrentDictionary<string, bool> Settled { get; } = new();

    /// <summary>The highest offset commit the broker answered without error.</summary>
    public long Committed => Interlocked.Read(ref _committed);

    private long _committed = -1;

    /// <summary>Runs every client of the load against one broker until <paramref name="stop"/>.</summary>
    public Task RunAsync(string bootstrap, int amqpPort, string prefix, CancellationToken stop)
    {
        _committer = TrackAsync("group consumer", () => Task.Run(() => ConsumeAndCommit(bootstrap, _stopCommitting.Token), CancellationToken.None));
        return Task.WhenAll(
            TrackAsync("producer", () => Task.Run(() => Produce(bootstrap, prefix + "-k", stop), CancellationToken.None)),
            _committer,
            TrackAsync("AMQP publisher", () => PublishAndSettleAsync(amqpPort, prefix + "-a", stop)));
    }

    /// <summary>
    /// Stops the group consumer while the broker still runs: librdkafka's synchronous commit waits for a coordinator
    /// without end, and after a cut the next broker listens elsewhere. The cut still lands amid produce and publish,
    /// and the last answered commit is only moments old.
    /// </summary>
    public async Task StopCommittingAsync()
    {
        await _stopCommitting.CancelAsync();
        await _committer;
        _stopCommitting = new CancellationTokenSource();
    }

    private CancellationTokenSource _stopCommitting = new();
    private Task _committer = Task.CompletedTask;

    /// <summary>The clients still running, to name the one that does not stop after a cut.</summary>
    public string Running => string.Join(", ", _running.Keys);

    private readonly ConcurrentDictionary<string, bool> _running = new();

    /// <summary>Waits until produce, offset commits and AMQP publishes have each been acknowledged more than when it was called.</summary>
    public async Task AcknowledgedMoreAsync(TimeSpan timeout)
    {
        int produced = Produced.Count, confirmed = Confirmed.Count;
        long committed = Committed;
        var deadline = DateTime.UtcNow + timeout;
        while (Produced.Count == produced || Confirmed.Count == confirmed || Committed == committed)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"no acknowledgements within {timeout}: clients {Running}");
            await Task.Delay(20);
        }
    }

    private async Task TrackAsync(string client, Func<Task> run)
    {
        _running[client] = true;
        try { await run(); }
        finally { _running.TryRemove(client, out _); }
    }

    private void Produce(string bootstrap, string prefix, CancellationToken stop)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 2,
            // Small batches, so that many acknowledgements are in flight when the power goes.
            BatchNumMessages = 200,
            MessageTimeoutMs = 3000,
        }).Build();
        AcknowledgedProduce.Run(producer, Topic, prefix, Produced, stop);
    }

    private void ConsumeAndCommit(string bootstrap, CancellationToken stop)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = Group,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Stored));
        try
        {
            for (int read = 0; !stop.IsCancellationRequested;)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message is null || ++read % 500 != 0) continue;
                consumer.Commit(result); // returns once the broker answered the commit
                long offset = result.Offset.Value + 1, seen;
                while ((seen = Interlocked.Read(ref _committed)) < offset && Interlocked.CompareExchange(ref _committed, offset, seen) != seen) { }
            }
        }
        catch (KafkaException)
        {
            // The cut: a commit not answered by then was never acknowledged.
        }
    }

    private async Task PublishAndSettleAsync(int port, string prefix, CancellationToken stop)
    {
        try
        {
            var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = port };
            await using var connection = await factory.CreateConnectionAsync(stop);
            await using var publish = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), stop);
            await publish.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: stop);
            await using var settle = await connection.CreateChannelAsync(cancellationToken: stop);
            await settle.BasicQosAsync(0, 50, false, stop);
            var consumer = new AsyncEventingBasicConsumer(settle);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                string body = Encoding.UTF8.GetString(delivery.Body.Span);
                await settle.BasicAckAsync(delivery.DeliveryTag, multiple: false);
                Settled[body] = true;
            };
            string tag = await settle.BasicConsumeAsync(Queue, autoAck: false, consumer, stop);
            for (int i = 0; !stop.IsCancellationRequested; i += 16)
            {
                // The consumer takes about a third of what is published, so the queue both grows and settles.
                if (i % 3072 == 1024) await settle.BasicCancelAsync(tag, cancellationToken: stop);
                if (i % 3072 == 2048) tag = await settle.BasicConsumeAsync(Queue, autoAck: false, consumer, stop);
                var batch = Enumerable.Range(i, 16).Select(async k =>
                {
                    string body = $"{prefix}{k}";
                    await publish.BasicPublishAsync("", Queue, mandatory: false, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(body), stop);
                    Confirmed[body] = true; // returns only once the broker confirmed it
                }).ToList();
                await Task.WhenAll(batch);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The cut closes the connection: publishes not confirmed by then were never acknowledged.
        }
    }
}
