using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// The memory budget end to end, against a real <c>ferry</c> process with a low limit: a producer as fast as it can
/// go with a consumer at half its rate. The process's resident memory (VmRSS) must stay within the limit + 10 %, the
/// producer must have been throttled (throttle_time_ms as librdkafka reports it), and every acknowledged message must
/// be read back.
/// </summary>
/// <remarks>
/// A documented run, not part of the default suite: it needs a limit between what the process holds once the load's code
/// is running and what it would reach unthrottled, and that window depends on the build and the machine. Measured here
/// (1 KiB, 20 s): under the JIT the floor is ~100-105 MB (28 MB of it anonymous, the rest mapped assemblies and
/// compiled code) and the unthrottled peak 108 MB, so 104 MB works and 96 MB does not; the published native binary
/// peaked at 74 MB unthrottled, so 96 MB never throttles it. Run it with <c>FERRY_MEMORY_TEST_LIMIT_MB</c> (104 under
/// the JIT; with <c>FERRY_BINARY</c>, a limit below 74, e.g. 66) and <c>FERRY_MEMORY_TEST_SECONDS</c> for a soak. The
/// throttling itself (throttle_time_ms, respond-then-mute, Fetch never throttled) is covered on every run by
/// <see cref="MemoryBudgetTests"/>.
/// </remarks>
public sealed class BoundedMemoryTests
{
    private const int ValueBytes = 1024;

    private const int Producers = 1;

    private static TimeSpan LoadDuration =>
        TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("FERRY_MEMORY_TEST_SECONDS"), out int s) && s > 0 ? s : 20);

    private static long LimitBytes =>
        (int.TryParse(Environment.GetEnvironmentVariable("FERRY_MEMORY_TEST_LIMIT_MB"), out int mb) && mb > 0 ? mb : 0) * 1_000_000L;

    private static Task<FerryProcess> StartLimitedAsync(string data) =>
        FerryProcess.StartWithEnvironmentAsync(data, new Dictionary<string, string>
        {
            ["FERRY_RESOURCES__MEMORYHIGHWATERMARKBYTES"] = LimitBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["FERRY_LOGGING__LOGLEVEL__FERRY.HOSTING.MEMORYPRESSURERECLAIMER"] = "Debug",
        });

    [Fact]
    public async Task Kafka_FastProducerSlowConsumer_ResidentMemoryStaysWithinLimit_NothingAcknowledgedLost()
    {
        if (LimitBytes == 0) Assert.Skip("Set FERRY_MEMORY_TEST_LIMIT_MB (see the remarks: the limit that exercises the budget depends on the build).");
        string data = Path.Combine(Path.GetTempPath(), "ferry-bounded-kafka-" + Guid.NewGuid().ToString("N"));
        await using var ferry = await StartLimitedAsync(data);
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = ferry.BootstrapServers }).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "flood", NumPartitions = 1, ReplicationFactor = 1 }]);

        using var rss = new ResidentSampler(ferry);
        int throttleMaxMs = 0;
        var acknowledged = new ConcurrentDictionary<long, bool>();
        long produced = 0, consumed = 0;
        string padding = new('x', ValueBytes - 20);
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = ferry.BootstrapServers,
            Acks = Acks.Leader,
            LingerMs = 5,
            BatchSize = 1 << 20,
            StatisticsIntervalMs = 500,
        };
        var producers = Enumerable.Range(0, Producers).Select(_ => new ProducerBuilder<Null, string>(producerConfig)
            .SetStatisticsHandler((_, json) =>
            {
                int seen = ThrottleMaxMs(json);
                if (seen > Volatile.Read(ref throttleMaxMs)) Volatile.Write(ref throttleMaxMs, seen);
            })
            .Build()).ToList();
        long nextId = -1;
        var loadOver = Stopwatch.StartNew();
        var producing = Task.WhenAll(producers.Select(producer => Task.Run(() =>
        {
            while (loadOver.Elapsed < LoadDuration)
            {
                long id = Interlocked.Increment(ref nextId);
                while (true)
                {
                    try
                    {
                        producer.Produce("flood", new Message<Null, string> { Value = id.ToString("D19", System.Globalization.CultureInfo.InvariantCulture) + padding }, report =>
                        {
                            if (report.Error.Code == ErrorCode.NoError) acknowledged[id] = true;
                        });
                        break;
                    }
                    catch (ProduceException<Null, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(10)); // the client's own queue is full: as fast as it can go
                    }
                }
                Interlocked.Increment(ref produced);
            }
            // Every message delivered (or failed) before the consumer's final read-back starts.
            var flushing = Stopwatch.StartNew();
            while (producer.Flush(TimeSpan.FromSeconds(1)) > 0 && flushing.Elapsed < TimeSpan.FromMinutes(3)) { }
        })));

        var seen = new HashSet<long>();
        var consumerConfig = new ConsumerConfig
        {
            BootstrapServers = ferry.BootstrapServers,
            GroupId = "slow",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        };
        var consuming = Task.Run(() =>
        {
            using var consumer = new ConsumerBuilder<Null, string>(consumerConfig).Build();
            consumer.Subscribe("flood");
            // Half the producer's rate while it runs: the consumer holds back whenever it has read half of what was acknowledged.
            while (!producing.IsCompleted)
            {
                if (Interlocked.Read(ref consumed) * 2 >= acknowledged.Count)
                {
                    Thread.Sleep(5);
                    continue;
                }
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } result)
                {
                    seen.Add(long.Parse(result.Message.Value.AsSpan(0, 19), System.Globalization.CultureInfo.InvariantCulture));
                    Interlocked.Increment(ref consumed);
                }
            }
            // Then everything acknowledged, read back at full speed.
            var deadline = Stopwatch.StartNew();
            while (acknowledged.Keys.Any(id => !seen.Contains(id)) && deadline.Elapsed < TimeSpan.FromMinutes(3))
            {
                for (int n = 0; n < 10_000; n++)
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is not { IsPartitionEOF: false } result) break;
                    seen.Add(long.Parse(result.Message.Value.AsSpan(0, 19), System.Globalization.CultureInfo.InvariantCulture));
                    Interlocked.Increment(ref consumed);
                }
            }
            consumer.Close();
        });
        await producing.WaitAsync(LoadDuration + TimeSpan.FromMinutes(2));
        await consuming.WaitAsync(TimeSpan.FromMinutes(4));
        long peak = rss.Stop();
        foreach (var producer in producers) producer.Dispose();

        var lost = acknowledged.Keys.Where(id => !seen.Contains(id)).Take(5).ToList();
        string figures = $"limit {LimitBytes / 1_000_000} MB, peak RSS {peak / 1_000_000} MB, produced {produced}, acknowledged {acknowledged.Count} in {LoadDuration.TotalSeconds} s, throttle max {throttleMaxMs} ms";
        figures += "; RSS MB per second: " + rss.Trace;
        TestContext.Current.TestOutputHelper?.WriteLine("Kafka bounded memory: " + figures);
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join('\n', ferry.Output.Split('\n').Where(l => l.Contains("memory limit", StringComparison.Ordinal)).Take(40)));
        Assert.False(acknowledged.IsEmpty, figures);
        Assert.True(lost.Count == 0, $"acknowledged but not read back: {string.Join(", ", lost)}; {figures}");
        Assert.True(peak <= LimitBytes * 11 / 10, figures);
        Assert.True(throttleMaxMs > 0, "the producer was never throttled: " + figures);
        Assert.Contains("throttling Kafka producers", ferry.Output);
    }

    /// <summary>The largest throttle time any broker reported in one librdkafka statistics window (brokers.*.throttle.max, ms).</summary>
    private static int ThrottleMaxMs(string statistics)
    {
        using var json = JsonDocument.Parse(statistics);
        int max = 0;
        foreach (var broker in json.RootElement.GetProperty("brokers").EnumerateObject())
        {
            if (broker.Value.TryGetProperty("throttle", out var throttle) && throttle.TryGetProperty("max", out var value))
                max = Math.Max(max, value.GetInt32());
        }
        return max;
    }

    /// <summary>Reads the ferry process's VmRSS every 100 ms and keeps the peak.</summary>
    private sealed class ResidentSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<long> _sampling;
        private readonly ConcurrentQueue<long> _perSecond = new();

        /// <summary>The highest reading of each second, in MB: how the resident memory moved under the load.</summary>
        public string Trace => string.Join(' ', _perSecond.Select(b => b / 1_000_000));

        public ResidentSampler(FerryProcess ferry) => _sampling = Task.Run(async () =>
        {
            long peak = 0, secondPeak = 0;
            for (int n = 1; !_stop.IsCancellationRequested; n++)
            {
                long now = ferry.ResidentBytes;
                peak = Math.Max(peak, now);
                secondPeak = Math.Max(secondPeak, now);
                if (n % 10 == 0)
                {
                    _perSecond.Enqueue(secondPeak);
                    secondPeak = 0;
                }
                try { await Task.Delay(100, _stop.Token); } catch (OperationCanceledException) { }
            }
            return peak;
        });

        public long Stop()
        {
            _stop.Cancel();
            return _sampling.GetAwaiter().GetResult();
        }

        public void Dispose() => _stop.Dispose();
    }
}
