using System.Text;
using Confluent.Kafka;
using Ferry.Tests;
using RabbitMQ.Client;

namespace Ferry.Kafka.Tests.Integration.PowerCut;

/// <summary>
/// Issue 18's power loss: the real ferry process under the fault layer, small segments so that rolls happen, loaded
/// by <see cref="PowerCutLoad"/>; the power is cut at a random moment (SIGKILL, then the directory rewound to what was
/// synced), and ferry starts again on what is left, under the layer again. At the end a ferry without the layer must
/// serve every acknowledged record at its offset, keep every answered offset commit and every confirmed AMQP message
/// not acknowledged by its consumer, and serve nothing other than what was sent (a corrupt batch fails librdkafka's
/// CRC check and the test). <c>FERRY_POWERCUT_CYCLES</c> sets the number of cycles (the README's long run: 200).
/// </summary>
public sealed class PowerCutTests(ITestOutputHelper output)
{
    private const int SegmentBytes = 64 * 1024;

    [Fact]
    public Task PowerCuts_UnderKafkaAndAmqpLoad_LoseNothingAcknowledged() =>
        CutAndCheckAsync(int.TryParse(System.Environment.GetEnvironmentVariable("FERRY_POWERCUT_CYCLES"), out int n) ? n : 5, dataBelowRoot: null);

    /// <summary>
    /// ferry makes its data directory itself, two levels below the last directory that exists: every level's name
    /// must be durable before the first acknowledgement, or the cut takes the whole directory with it.
    /// </summary>
    [Fact]
    public Task PowerCut_InADataDirectoryFerryCreated_LosesNothingAcknowledged() => CutAndCheckAsync(1, dataBelowRoot: Path.Combine("made", "data"));

    private async Task CutAndCheckAsync(int cycles, string? dataBelowRoot)
    {
        Librdkafka.EnsureLoaded();
        int seed = System.Environment.TickCount;
        var random = new Random(seed);
        string root = Path.Combine(Path.GetTempPath(), "ferry-power-" + Guid.NewGuid().ToString("N"));
        var cut = new PowerCut(root);
        string data = dataBelowRoot is null ? cut.DataDirectory : Path.Combine(cut.DataDirectory, dataBelowRoot);
        var settings = new Dictionary<string, string>(cut.Environment) { ["FERRY_STORAGE__SEGMENTBYTES"] = SegmentBytes.ToString() };
        var load = new PowerCutLoad();
        long lostBytes = 0;
        try
        {
            for (int cycle = 0; cycle < cycles; cycle++)
            {
                int delay = random.Next(0, 1500);
                await using (var ferry = await FerryProcess.StartWithEnvironmentAsync(data, settings))
                {
                    using var stop = new CancellationTokenSource();
                    var running = load.RunAsync(ferry.BootstrapServers, ferry.AmqpPort, $"c{cycle}", stop.Token);
                    // The cut falls while both protocols are being acknowledged, not while the clients connect.
                    await load.AcknowledgedMoreAsync(TimeSpan.FromSeconds(30));
                    await Task.Delay(delay);
                    await load.StopCommittingAsync();
                    ferry.Signal("KILL");
                    await ferry.Process.WaitForExitAsync();
                    stop.Cancel();
                    if (await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(60))) != running)
                        Assert.Fail($"cycle {cycle}: clients still running a minute after the cut: {load.Running}");
                    await running;
                }
                cut.RestoreDurableState();
                lostBytes += cut.LastRestore.LostBytes;
                output.WriteLine($"cycle {cycle}: cut after {delay} ms, {cut.LastRestore.Files} files kept, {cut.LastRestore.LostBytes} unsynced bytes dropped; " +
                    $"so far {load.Produced.Count} produced, {load.Confirmed.Count} confirmed, commit {load.Committed}");
            }

            // The check runs without the layer: what it reads is what the last power cut left.
            await using var check = await FerryProcess.StartWithEnvironmentAsync(data, new Dictionary<string, string>());
            var stored = ReadTopic(check.BootstrapServers, out long committed);
            var missing = load.Produced.Where(a => !stored.TryGetValue(a.Key, out long offset) || offset != a.Value).ToList();
            var queued = await DrainQueueAsync(check.AmqpPort);
            var missingConfirmed = load.Confirmed.Keys.Where(m => !queued.Contains(m) && !load.Settled.ContainsKey(m)).ToList();
            output.WriteLine($"seed {seed}, {cycles} power cuts, {lostBytes} unsynced bytes dropped: {load.Produced.Count} Kafka acknowledged, {stored.Count} stored; " +
                $"offset commit {load.Committed} answered, {committed} kept; {load.Confirmed.Count} AMQP confirmed, {load.Settled.Count} settled, {queued.Count} queued");
            Assert.True(missing.Count == 0, $"{missing.Count} of {load.Produced.Count} acknowledged records missing or moved, e.g. {string.Join(", ", missing.Take(5))}");
            Assert.True(committed >= load.Committed, $"the group's committed offset went back from {load.Committed} to {committed}");
            Assert.True(missingConfirmed.Count == 0, $"{missingConfirmed.Count} of {load.Confirmed.Count} confirmed messages missing, e.g. {string.Join(", ", missingConfirmed.Take(5))}");
            Assert.All(stored.Keys, v => Assert.Matches(@"^c\d+-k\d+$", v));
            Assert.All(queued, v => Assert.Matches(@"^c\d+-a\d+$", v));
            Assert.True(!load.Produced.IsEmpty && !load.Confirmed.IsEmpty && load.Committed > 0, "no load was acknowledged");
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            if (Directory.Exists(cut.ShadowDirectory)) Directory.Delete(cut.ShadowDirectory, recursive: true);
        }
    }

    /// <summary>Every record of the topic by value, with its offset, and the load's group's committed offset.</summary>
    private static Dictionary<string, long> ReadTopic(string bootstrap, out long committed)
    {
        var partition = new TopicPartition(PowerCutLoad.Topic, 0);
        using (var group = new ConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = PowerCutLoad.Group }).Build())
            committed = group.Committed([partition], TimeSpan.FromSeconds(10))[0].Offset.Value;
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "power-check",
            EnableAutoCommit = false,
            CheckCrcs = true,
        }).Build();
        long high = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High.Value;
        consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
        var stored = new Dictionary<string, long>();
        long next = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (next < high && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is null) continue;
            Assert.True(stored.TryAdd(result.Message.Value, result.Offset.Value), $"{result.Message.Value} stored twice");
            next = result.Offset.Value + 1;
        }
        return stored;
    }

    private static async Task<HashSet<string>> DrainQueueAsync(int port)
    {
        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = port };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(PowerCutLoad.Queue, durable: true, exclusive: false, autoDelete: false);
        var queued = new HashSet<string>();
        while (await channel.BasicGetAsync(PowerCutLoad.Queue, autoAck: true) is { } got) queued.Add(Encoding.UTF8.GetString(got.Body.Span));
        return queued;
    }
}
