using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Ferry.Tests;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// The crash-loop soak: the real ferry process SIGKILLed at a random moment (seeded) under mixed load, an idempotent
/// Kafka producer with acks=all and an AMQP publisher with confirms, then restarted on the same data, again and
/// again. At the end every acknowledged Kafka record is at its acknowledged offset, every confirmed AMQP message is
/// in its queue, and nothing is there twice. <c>FERRY_CRASH_CYCLES</c> (default 3) sets the cycles; start-up times
/// and data sizes per cycle go to the test output.
/// </summary>
public sealed class CrashLoopTests(ITestOutputHelper output)
{
    private const string Topic = "soak";
    private const string Queue = "soak";

    [Fact]
    public async Task SigkillLoop_MixedAcksAllAndConfirms_NothingAcknowledgedLost_NoDuplicates()
    {
        Librdkafka.EnsureLoaded();
        int cycles = int.TryParse(Environment.GetEnvironmentVariable("FERRY_CRASH_CYCLES"), out int n) ? n : 3;
        var random = new Random(18);
        var data = Path.Combine(Path.GetTempPath(), "ferry-crashloop-" + Guid.NewGuid().ToString("N"));
        var acknowledged = new ConcurrentDictionary<string, long>();
        var confirmed = new ConcurrentDictionary<string, byte>();
        var startups = new List<double>();

        for (int cycle = 0; cycle < cycles; cycle++)
        {
            var started = Stopwatch.StartNew();
            await using var ferry = await StartAsync(data);
            startups.Add(started.Elapsed.TotalMilliseconds);
            using var stop = new CancellationTokenSource();
            var kafka = Task.Run(() => ProduceKafka(ferry, cycle, acknowledged, stop.Token));
            var amqp = Task.Run(() => PublishAmqpAsync(ferry, cycle, confirmed, stop.Token));

            // A random moment once both kinds of load have had some acknowledgement in this cycle.
            int kafkaBefore = acknowledged.Count, amqpBefore = confirmed.Count;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((acknowledged.Count == kafkaBefore || confirmed.Count == amqpBefore) && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(acknowledged.Count > kafkaBefore && confirmed.Count > amqpBefore, $"cycle {cycle}: no load acknowledged\n{ferry.Output}");
            await Task.Delay(random.Next(0, 1500));
            ferry.Signal("KILL");
            await ferry.Process.WaitForExitAsync();
            await stop.CancelAsync();
            await Task.WhenAll(kafka, amqp);
            output.WriteLine($"cycle {cycle}: start-up {startups[^1]:F0} ms, data {DirectorySize(data) >> 10} KiB, acknowledged {acknowledged.Count} Kafka, {confirmed.Count} AMQP");
        }

        await using var check = await StartAsync(data);
        var stored = ReadKafka(check, out int kafkaDuplicates);
        var lost = acknowledged.Where(a => !stored.TryGetValue(a.Key, out long offset) || offset != a.Value).ToList();
        var queued = await DrainAmqpAsync(check);
        var unconfirmedLost = confirmed.Keys.Where(body => !queued.ContainsKey(body)).ToList();
        int amqpDuplicates = queued.Values.Count(c => c > 1);
        output.WriteLine($"{cycles} cycles: {acknowledged.Count} Kafka acknowledged, {lost.Count} lost or moved, {kafkaDuplicates} duplicated; "
            + $"{confirmed.Count} AMQP confirmed, {unconfirmedLost.Count} lost, {amqpDuplicates} duplicated; "
            + $"start-up first {startups[0]:F0} ms, last {startups[^1]:F0} ms, max {startups.Max():F0} ms");

        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged Kafka records lost or moved, e.g. {string.Join(", ", lost.Take(5))}");
        Assert.True(kafkaDuplicates == 0, $"{kafkaDuplicates} Kafka values stored twice by an idempotent producer");
        Assert.True(unconfirmedLost.Count == 0, $"{unconfirmedLost.Count} confirmed AMQP messages lost, e.g. {string.Join(", ", unconfirmedLost.Take(5))}");
        Assert.True(amqpDuplicates == 0, $"{amqpDuplicates} AMQP messages queued twice");
    }

    /// <summary>
    /// Starts ferry, again if a port the harness picked was taken by another process before ferry bound it (the
    /// machine's other tests pick free ports too): after 200 cycles the check run once lost that race.
    /// </summary>
    private static async Task<FerryProcess> StartAsync(string data)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await FerryProcess.StartAsync(data);
            }
            catch (InvalidOperationException ex) when (attempt < 5 && ex.Message.Contains("address in use", StringComparison.Ordinal))
            {
                // Another free port next time.
            }
        }
    }

    private static void ProduceKafka(FerryProcess ferry, int cycle, ConcurrentDictionary<string, long> acknowledged, CancellationToken stop)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = ferry.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 2,
            MessageTimeoutMs = 5000,
        }).Build();
        // About 5,000 records a second: enough to be mid-write at every kill, little enough that a run of 1,000 cycles
        // can be read back at the end.
        AcknowledgedProduce.Run(producer, Topic, $"c{cycle}-", acknowledged, stop, pauseEvery: 50);
    }

    private static async Task PublishAmqpAsync(FerryProcess ferry, int cycle, ConcurrentDictionary<string, byte> confirmed, CancellationToken stop)
    {
        try
        {
            var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort, AutomaticRecoveryEnabled = false };
            await using var connection = await factory.CreateConnectionAsync(stop);
            await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), stop);
            await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: stop);
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string body = $"c{cycle}-{i}";
                await channel.BasicPublishAsync("", Queue, true, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(body), stop);
                confirmed[body] = 0;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or AlreadyClosedException or BrokerUnreachableException or PublishException or IOException)
        {
            // The kill: what was not confirmed by now does not count.
        }
    }

    private static Dictionary<string, long> ReadKafka(FerryProcess ferry, out int duplicates)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = ferry.BootstrapServers,
            GroupId = "soak-check",
            EnableAutoCommit = false,
        }).Build();
        var high = consumer.QueryWatermarkOffsets(new TopicPartition(Topic, 0), TimeSpan.FromSeconds(30)).High.Value;
        consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Beginning));
        var stored = new Dictionary<string, long>();
        duplicates = 0;
        long next = 0;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (next < high && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is null) continue;
            if (!stored.TryAdd(result.Message.Value, result.Offset.Value)) duplicates++;
            next = result.Offset.Value + 1;
        }
        return stored;
    }

    private static async Task<Dictionary<string, int>> DrainAmqpAsync(FerryProcess ferry)
    {
        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort, AutomaticRecoveryEnabled = false };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        while (await channel.BasicGetAsync(Queue, autoAck: true) is { } message)
        {
            string body = Encoding.UTF8.GetString(message.Body.Span);
            seen[body] = seen.GetValueOrDefault(body) + 1;
        }
        return seen;
    }

    private static long DirectorySize(string path) =>
        new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => { try { return f.Length; } catch (IOException) { return 0L; } });
}
