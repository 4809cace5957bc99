using System.Diagnostics;
using Confluent.Kafka;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Scenario 5 of issue 13: two of three nodes SIGKILLed. With one copy left (min.insync.replicas 2) acks=all never
/// succeeds; once one node returns, service resumes, with nothing acknowledged before lost.
/// </summary>
public sealed class QuorumLossTests(ITestOutputHelper output)
{
    private const string Topic = "quorum-loss";

    [Fact]
    public async Task TwoOfThreeDown_AcksAllNeverSucceeds_ServiceResumesWhenOneReturns()
    {
        Librdkafka.EnsureLoaded();
        var outage = ScenarioTime.Fault(TimeSpan.FromSeconds(6));
        await using var cluster = await ClusterHarness.StartAsync(3);
        var (leader, _) = await Clients.CreateTopicAsync(cluster, Topic);
        var survivor = cluster.Node(leader);
        var down = cluster.Nodes.Where(n => n.NodeId != leader).ToList();
        var checker = new Checker();
        using (var before = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(60)))
            await Clients.ProduceAsync(before, Topic, "before", 50, checker);

        foreach (var node in down) await node.KillAsync();
        int acknowledged = 0, failed = 0;
        using (var alone = Clients.Producer(survivor.BootstrapServers, Acks.All, idempotent: false, TimeSpan.FromSeconds(3)))
        {
            var sends = new List<Task>();
            var clock = Stopwatch.StartNew();
            for (int i = 0; clock.Elapsed < outage; i++)
            {
                sends.Add(alone.ProduceAsync(Topic, new Message<Null, string> { Value = $"alone-{i}" }).ContinueWith(t =>
                {
                    if (t.IsCompletedSuccessfully) Interlocked.Increment(ref acknowledged);
                    else Interlocked.Increment(ref failed);
                }, TaskScheduler.Default));
                await Task.Delay(250);
            }
            await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(30));
        }
        output.WriteLine($"2 of 3 down for {outage.TotalSeconds:F0} s: acks=all {acknowledged} acknowledged, {failed} failed");
        Assert.Equal(0, acknowledged);
        Assert.True(failed > 0);

        await down[0].StartAsync();
        var resumed = Stopwatch.StartNew();
        using (var after = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(90)))
            await Clients.ProduceAsync(after, Topic, "after", 20, checker);
        output.WriteLine($"one node back: acks=all acknowledged again {resumed.ElapsedMilliseconds} ms after it started");
        Assert.Null(checker.Verify(Checker.ReadAll(cluster.BootstrapServers, Topic, TimeSpan.FromSeconds(30))));
    }
}
