using System.Diagnostics;
using Confluent.Kafka;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Scenario 2 of issue 13, measured: the time from the partition leader's SIGKILL (several runs: the killed node
/// comes back and catches up between them) or SIGTERM (controlled shutdown: leaderships handed over before it
/// stops; measured as the longest wait for an acknowledgement while producing throughout) to the first acknowledged
/// idempotent acks=all produce on the new leader. The bounds asserted are loose
/// (the machine running tests is shared); median and maximum go to the test output.
/// </summary>
public sealed class FailoverTimeTests(ITestOutputHelper output)
{
    private const string Topic = "failover-time";

    [Fact]
    public async Task FirstAcknowledgedProduceAfterTheLeadersSigkillComesWithinSeconds()
    {
        Librdkafka.EnsureLoaded();
        await using var cluster = await ClusterHarness.StartAsync(3);
        await Clients.CreateTopicAsync(cluster, Topic);
        var checker = new Checker();
        var times = new List<TimeSpan>();
        int runs = ScenarioTime.Runs(5);
        for (int run = 0; run < runs; run++)
        {
            var (leader, _) = await Clients.FullIsrAsync(cluster, Topic, TimeSpan.FromSeconds(90));
            var failover = await MeasureAsync(cluster, checker, $"run{run}", () => cluster.Node(leader).KillAsync());
            times.Add(failover);
            output.WriteLine($"run {run}: leader {leader} SIGKILLed, first acks=all acknowledgement after {failover.TotalMilliseconds:F0} ms");
            // Where the time went: when the controller fenced the node, when the new leader took over (node clocks).
            output.WriteLine(string.Join('\n', cluster.Nodes.SelectMany(n => n.Output.Split('\n')).Where(l => l.Contains("fenced", StringComparison.Ordinal)
                || l.Contains(Topic + "-0: leader", StringComparison.Ordinal)).Select(l => l.Trim()).Order(StringComparer.Ordinal).TakeLast(2)));
            await cluster.Node(leader).StartAsync();
        }
        var sorted = times.Order().ToList();
        output.WriteLine($"SIGKILL failover over {runs} runs: median {sorted[runs / 2].TotalMilliseconds:F0} ms, max {sorted[^1].TotalMilliseconds:F0} ms");
        Assert.True(sorted[^1] < TimeSpan.FromSeconds(30), $"slowest failover {sorted[^1]}");
        try
        {
            Assert.Null(checker.Verify(Checker.ReadAll(cluster.BootstrapServers, Topic, TimeSpan.FromSeconds(30))));
        }
        catch
        {
            // Once in a CI run the last leader's high watermark stayed below its epoch start for the whole read: the
            // partition's history on every node (roles, truncations, ISR changes, stalled fetchers) says which replica held it.
            output.WriteLine(PartitionHistory(cluster));
            throw;
        }
    }

    private static string PartitionHistory(ClusterHarness cluster) =>
        string.Join('\n', cluster.Nodes
            .SelectMany(n => n.Output.Split('\n').Where(l => l.Contains(Topic + "-0", StringComparison.Ordinal)).Select(l => $"{l.Trim()} [node {n.NodeId}]"))
            .Order(StringComparer.Ordinal));

    [Fact]
    public async Task AfterTheLeadersSigtermTheNewLeaderAcknowledgesWithinASecondOrSo()
    {
        Librdkafka.EnsureLoaded();
        await using var cluster = await ClusterHarness.StartAsync(3);
        var (leader, _) = await Clients.CreateTopicAsync(cluster, Topic);
        var checker = new Checker();
        using var producer = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(60));
        await Clients.ProduceAsync(producer, Topic, "term-before", 20, checker);
        // A handoff is judged while clients keep producing, as they do: the longest stretch from the signal without
        // an acknowledgement, one send at a time, until the stopped process has exited and the new leader has
        // acknowledged a few more.
        var sinceSignal = Stopwatch.StartNew();
        var stopped = cluster.Node(leader).TerminateAsync();
        var longestGap = TimeSpan.Zero;
        var previous = TimeSpan.Zero;
        int afterExit = 0;
        for (int i = 0; afterExit < 20; i++)
        {
            string value = "term-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var result = await producer.ProduceAsync(Topic, new Message<Null, string> { Value = value });
            checker.Acknowledged(value, result.Offset.Value);
            var now = sinceSignal.Elapsed;
            if (now - previous > longestGap) longestGap = now - previous;
            previous = now;
            if (stopped.IsCompleted) afterExit++;
        }
        await stopped;
        output.WriteLine($"leader {leader} SIGTERMed (controlled shutdown), longest wait for an acks=all acknowledgement while producing: " +
            $"{longestGap.TotalMilliseconds:F0} ms; process gone after {sinceSignal.Elapsed.TotalMilliseconds:F0} ms at the latest");
        Assert.Contains("Controlled shutdown of node", cluster.Node(leader).Output, StringComparison.Ordinal);
        // The SIGKILL path needs the session timeout or a refused connection to notice; a handoff does not.
        Assert.True(longestGap < TimeSpan.FromSeconds(10), $"longest wait for an acknowledgement {longestGap}");
        Assert.Null(checker.Verify(Checker.ReadAll(cluster.BootstrapServers, Topic, TimeSpan.FromSeconds(30))));
    }

    /// <summary>
    /// Produces, stops the leader with <paramref name="stop"/> (which returns once the process is gone), and times,
    /// from the signal, the first acknowledged produce sent after it.
    /// </summary>
    private static async Task<TimeSpan> MeasureAsync(ClusterHarness cluster, Checker checker, string prefix, Func<Task> stop)
    {
        using var producer = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(60));
        await Clients.ProduceAsync(producer, Topic, prefix + "-before", 20, checker);
        var sinceStop = Stopwatch.StartNew();
        await stop();
        var result = await producer.ProduceAsync(Topic, new Message<Null, string> { Value = prefix + "-after" });
        var elapsed = sinceStop.Elapsed;
        Assert.Equal(PersistenceStatus.Persisted, result.Status);
        checker.Acknowledged(prefix + "-after", result.Offset.Value);
        return elapsed;
    }
}
