using System.Diagnostics;
using Confluent.Kafka;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>Committed offsets outlive the broker: a clean restart, a SIGKILL of the real process; kcat resumes from them.</summary>
public sealed class GroupsDurabilityTests
{
    [Fact]
    public async Task CommittedOffsets_WithMetadata_SurviveARestart_AndTheGroupResumesFromThem()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "restart", group = "restart-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 3);
        await GroupsTests.ProduceAsync(server.BootstrapServers, topic, 3, 30, "old");
        using (var consumer = new GroupConsumer("before", server.BootstrapServers, group, topic))
        {
            await Eventually.HoldsAsync(() => consumer.Received.Count == 30, "the group consumes 30 messages");
        }
        using (var client = await RawKafkaClient.ConnectAsync(server.KafkaPort))
        {
            await GroupsProtocolTests.CommitAsync(client, "tools", topic, (0, 5, "checkpoint {\"v\":1}"), (2, 9, ""));
        }

        await server.StopAsync();
        await server.StartAsync();

        using (var client = await RawKafkaClient.ConnectAsync(server.KafkaPort))
        {
            Assert.Equal([(0, 5L, "checkpoint {\"v\":1}"), (2, 9L, (string?)"")], await GroupsProtocolTests.FetchAllAsync(client, "tools"));
            Assert.Equal([(0, 10L, (string?)""), (1, 10L, ""), (2, 10L, "")], await GroupsProtocolTests.FetchAllAsync(client, group));
        }
        await GroupsTests.ProduceAsync(server.BootstrapServers, topic, 3, 9, "new");
        using var after = new GroupConsumer("after", server.BootstrapServers, group, topic);
        await Eventually.HoldsAsync(() => after.Received.Count == 9, "the group consumes the 9 new messages");
        Assert.All(after.Received, r => Assert.StartsWith("new", r.Message.Value));
    }

    [Fact]
    public async Task CommittedOffsets_SurviveASigkillOfTheFerryProcess()
    {
        string data = Path.Combine(Path.GetTempPath(), "ferry-groups-kill-" + Guid.NewGuid().ToString("N"));
        try
        {
            Librdkafka.EnsureLoaded();
            await using (var ferry = await FerryProcess.StartAsync(data))
            {
                await GroupsTests.CreateTopicAsync(ferry.BootstrapServers, "killed", 2);
                using (var client = await RawKafkaClient.ConnectAsync(ferry.KafkaPort))
                {
                    for (int i = 1; i <= 20; i++) await GroupsProtocolTests.CommitAsync(client, "kill-group", "killed", (0, i, $"meta-{i}"), (1, 100 + i, null));
                }
                using (var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
                       {
                           BootstrapServers = ferry.BootstrapServers, GroupId = "kill-assign", EnableAutoCommit = false,
                       }).Build())
                {
                    consumer.Commit([new TopicPartitionOffset("killed", 1, 77)]);
                }
                // Acknowledged means durable: kill at once, no chance to flush.
                ferry.Signal("KILL");
                await ferry.Process.WaitForExitAsync(TestContext.Current.CancellationToken);
            }

            await using var restarted = await FerryProcess.StartAsync(data);
            using var again = await RawKafkaClient.ConnectAsync(restarted.KafkaPort);
            Assert.Equal([(0, 20L, "meta-20"), (1, 120L, (string?)null)], await GroupsProtocolTests.FetchAllAsync(again, "kill-group"));
            Assert.Equal([(1, 77L, (string?)"")], await GroupsProtocolTests.FetchAllAsync(again, "kill-assign"));
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task KcatBalancedConsumer_ResumesFromCommittedOffsets()
    {
        if (!File.Exists("/usr/bin/kcat")) Assert.Skip("kcat is not installed (Debian package kcat, listed in .ci/apt-packages).");
        await using var server = await FerryServer.StartAsync();
        const string topic = "kcat";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 2);
        await GroupsTests.ProduceAsync(server.BootstrapServers, topic, 2, 20, "k");

        var first = await KcatAsync(server, topic, "-c", "8");
        Assert.Equal(8, first.Count);
        var second = await KcatAsync(server, topic, "-e");
        Assert.Equal(12, second.Count);
        var expected = Enumerable.Range(0, 20).Select(i => $"k{i}").Order();
        Assert.Equal(expected, first.Concat(second).Order());
    }

    [Fact]
    public async Task KcatMemberKilledWithSigkill_IsExpiredAndItsPartitionsMove()
    {
        if (!File.Exists("/usr/bin/kcat")) Assert.Skip("kcat is not installed (Debian package kcat, listed in .ci/apt-packages).");
        await using var server = await FerryServer.StartAsync();
        const string topic = "kcat-killed", group = "kcat-killed-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 4);
        using var survivor = new GroupConsumer("survivor", server.BootstrapServers, group, topic);
        await Eventually.HoldsAsync(() => survivor.Assignment.Count == 4, "the first consumer owns all 4 partitions");

        var info = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-b", server.BootstrapServers, "-G", group, "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500", "-q", topic]) info.ArgumentList.Add(arg);
        using var kcat = Process.Start(info)!;
        try
        {
            await Eventually.HoldsAsync(() => survivor.Assignment.Count == 2, "kcat takes 2 of the 4 partitions");
        }
        finally
        {
            kcat.Kill(); // SIGKILL: no LeaveGroup, heartbeats just stop
        }
        var killedAt = DateTime.UtcNow;
        await kcat.WaitForExitAsync(TestContext.Current.CancellationToken);

        await Eventually.HoldsAsync(() => survivor.Assignment.Count == 4, "the killed member's partitions move back", TimeSpan.FromSeconds(20));
        Assert.True(DateTime.UtcNow - killedAt >= TimeSpan.FromSeconds(4), "expired well before its session timeout");
    }

    /// <summary>Runs kcat's balanced consumer (-G) in group "kcat-group" and returns the values it printed.</summary>
    private static async Task<List<string>> KcatAsync(FerryServer server, string topic, params string[] extra)
    {
        var info = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-b", server.BootstrapServers, "-G", "kcat-group", "-X", "auto.offset.reset=earliest",
                     "-X", "session.timeout.ms=6000", "-f", "%s\\n", .. extra, topic])
        {
            info.ArgumentList.Add(arg);
        }
        using var kcat = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = kcat.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = kcat.StandardError.ReadToEndAsync(timeout.Token);
        await kcat.WaitForExitAsync(timeout.Token);
        Assert.True(kcat.ExitCode == 0, $"kcat exited with {kcat.ExitCode}: {await stderr}");
        return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
