using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Scenario 3 of issue 13: the partition leader is cut off from the other two nodes by the proxies (its clients
/// still reach it). The minority side acknowledges no acks=all write; the majority fences it and elects a new
/// leader from the ISR; acks=1 writes the old leader took meanwhile are a divergent tail that, once healed, it
/// truncates by leader epoch before following; every acks=all acknowledgement is read back at its offset.
/// </summary>
public sealed class LeaderIsolationTests(ITestOutputHelper output)
{
    private const string Topic = "isolated";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task IsolatedLeader_AcknowledgesNoAcksAll_MajorityElects_DivergentTailIsTruncatedAfterHealing()
    {
        Librdkafka.EnsureLoaded();
        var isolation = ScenarioTime.Fault(TimeSpan.FromSeconds(8));
        await using var cluster = await ClusterHarness.StartAsync(3, proxied: true);
        var network = cluster.Network!;
        var (leader, epoch) = await Clients.CreateTopicAsync(cluster, Topic);
        var old = cluster.Node(leader);
        var majority = cluster.Nodes.Where(n => n.NodeId != leader).ToList();
        var checker = new Checker();

        using (var before = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(60)))
            await Clients.ProduceAsync(before, Topic, "before", 50, checker);
        Assert.Equal(50, checker.Count);

        // The minority side: producers that know only the old leader (the test's connections to the others are cut
        // too), one acks=all, one acks=1.
        using var minorityAll = Clients.Producer(old.BootstrapServers, Acks.All, idempotent: false, TimeSpan.FromSeconds(4));
        using var minorityOne = Clients.Producer(old.BootstrapServers, Acks.Leader, idempotent: false, TimeSpan.FromSeconds(4));
        var warmUp = await minorityAll.ProduceAsync(Topic, new Message<Null, string> { Value = "warm-up" }); // connected, has metadata
        checker.Acknowledged("warm-up", warmUp.Offset.Value);
        await minorityOne.ProduceAsync(Topic, new Message<Null, string> { Value = "warm-up-acks-1" }); // acks=1: not checked

        network.Isolate(leader, majority.Select(n => n.NodeId));
        foreach (var node in majority) network.Cut(0, node.NodeId);
        var isolated = Stopwatch.StartNew();
        int allAcknowledged = 0, allFailed = 0, oneAcknowledged = 0;
        var sends = new List<Task>();
        var electedAfter = TimeSpan.Zero;
        for (int i = 0; isolated.Elapsed < isolation; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            sends.Add(minorityAll.ProduceAsync(Topic, new Message<Null, string> { Value = "minority-all-" + n }).ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully) Interlocked.Increment(ref allAcknowledged);
                else Interlocked.Increment(ref allFailed);
            }, TaskScheduler.Default));
            sends.Add(minorityOne.ProduceAsync(Topic, new Message<Null, string> { Value = "minority-one-" + n }).ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully) Interlocked.Increment(ref oneAcknowledged);
            }, TaskScheduler.Default));
            if (electedAfter == TimeSpan.Zero && await ClusterHarness.PartitionAsync(majority[0], Topic) is { } seen && seen.Leader != leader && seen.Leader > 0)
                electedAfter = isolated.Elapsed;
            await Task.Delay(200);
        }
        await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(30));
        await cluster.WaitUntilAsync("the majority has elected a new leader", async () =>
            await ClusterHarness.PartitionAsync(majority[0], Topic) is { } p && p.Leader != leader && p.Leader > 0 && p.Epoch > epoch, Timeout);
        if (electedAfter == TimeSpan.Zero) electedAfter = isolated.Elapsed;
        output.WriteLine($"isolated node {leader} for {isolation.TotalSeconds:F0} s: acks=all {allAcknowledged} acknowledged, {allFailed} failed; " +
            $"acks=1 {oneAcknowledged} acknowledged (the divergent tail); majority elected after {electedAfter.TotalMilliseconds:F0} ms");
        Assert.Equal(0, allAcknowledged);
        Assert.True(allFailed > 0);
        Assert.True(oneAcknowledged > 0, "the isolated leader took no acks=1 write, so there was no divergent tail to truncate");

        // The majority, with its new leader at a higher epoch, takes acks=all writes while the old leader is still cut off.
        foreach (var node in majority) network.Heal(0, node.NodeId);
        using (var after = Clients.Producer(string.Join(',', majority.Select(n => n.BootstrapServers)), Acks.All, idempotent: true, TimeSpan.FromSeconds(60)))
            await Clients.ProduceAsync(after, Topic, "majority", 50, checker);
        Assert.Equal(101, checker.Count);

        // Healed: the old leader follows, truncates its divergent tail by epoch, catches up, rejoins the ISR, and
        // (the preferred replica) leads again, so that the read below reads its log.
        network.HealAll();
        await cluster.WaitUntilAsync("the old leader is back in the ISR and leads again", async () =>
            await ClusterHarness.PartitionAsync(majority[0], Topic) is { Leader: var l, Isr.Length: 3 } && l == leader, TimeSpan.FromSeconds(60));
        var read = Checker.ReadAll(old.BootstrapServers, Topic, Timeout);
        Assert.Null(checker.Verify(read, mustBeAbsent: v => v.StartsWith("minority-", StringComparison.Ordinal)));
    }
}
