using Confluent.Kafka;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Scenario 6 of issue 13 (data): every node SIGKILLed at once right after a stream of acks=all writes; restarted,
/// the cluster elects a leader again and every acknowledged value is read back at its offset (acks=all is answered
/// only once min.insync.replicas copies are fsynced).
/// </summary>
public sealed class WholeClusterKillTests(ITestOutputHelper output)
{
    private const string Topic = "all-killed";

    [Fact]
    public async Task EveryNodeSigkilledAtOnce_NothingAcknowledgedIsLost()
    {
        Librdkafka.EnsureLoaded();
        await using var cluster = await ClusterHarness.StartAsync(3);
        await Clients.CreateTopicAsync(cluster, Topic);
        var checker = new Checker();
        using (var producer = Clients.Producer(cluster.BootstrapServers, Acks.All, idempotent: true, TimeSpan.FromSeconds(60)))
        {
            await Clients.ProduceAsync(producer, Topic, "first", 200, checker);
            // The last acknowledgements arrive, and at once every process dies: no shutdown, no flush.
            await Clients.ProduceAsync(producer, Topic, "last", 200, checker);
            await Task.WhenAll(cluster.Nodes.Select(n => n.KillAsync()));
        }
        await Task.WhenAll(cluster.Nodes.Select(n => n.StartAsync()));
        await Clients.FullIsrAsync(cluster, Topic, TimeSpan.FromSeconds(90));
        var read = Checker.ReadAll(cluster.BootstrapServers, Topic, TimeSpan.FromSeconds(30));
        output.WriteLine($"all 3 nodes SIGKILLed after {checker.Count} acknowledged acks=all values; read back {read.Count}");
        Assert.Null(checker.Verify(read));
    }
}
