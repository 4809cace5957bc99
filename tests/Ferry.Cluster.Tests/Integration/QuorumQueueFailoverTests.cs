using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Ferry.Cluster.Tests.Harness;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Quorum queues on 3 nodes (issue 16): the queue's leader SIGKILLed under a confirming publisher and a manual-ack
/// consumer, restarted, then the next leader killed in turn. Nothing confirmed is lost, every message delivered twice
/// carries redelivered=true, and the members that do not lead refuse to confirm.
/// </summary>
/// <remarks>
/// Ferry serves a quorum queue only on its leader's node for now (no forwarding between nodes yet), so the clients here
/// reconnect to the leader the cluster reports, where RabbitMQ's clients would reconnect to any node.
/// </remarks>
public sealed class QuorumQueueFailoverTests(ITestOutputHelper output)
{
    private static Dictionary<string, object?> Quorum => new() { ["x-queue-type"] = "quorum" };

    private static ConnectionFactory Factory(ClusterNodeProcess node) => new()
    {
        HostName = "127.0.0.1",
        Port = node.AmqpPort,
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
        RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
    };

    private static async Task<string?> QueueTopicAsync(ClusterNodeProcess node)
    {
        if (await ClusterHarness.StatusAsync(node) is not { } status) return null;
        return status["partitions"]!.AsArray().Select(p => p!["topic"]!.GetValue<string>()).FirstOrDefault(t => t.StartsWith("__quorum.", StringComparison.Ordinal));
    }

    /// <summary>The queue's leader as a running node reports it, when that leader runs and has all members in sync or at least a majority.</summary>
    private static async Task<(ClusterNodeProcess Node, int[] Isr)?> LeaderAsync(ClusterHarness cluster, string topic)
    {
        foreach (var node in cluster.Running)
        {
            if (await ClusterHarness.PartitionAsync(node, topic) is { } p && p.Leader > 0 && cluster.Node(p.Leader).IsRunning && p.Isr.Length >= 2)
                return (cluster.Node(p.Leader), p.Isr);
        }
        return null;
    }

    [Fact]
    public async Task LeaderKilledInTurn_NothingConfirmedLost_RedeliveriesFlagged_FollowersRefuseToConfirm()
    {
        var traffic = ScenarioTime.Fault(TimeSpan.FromSeconds(3));
        int rounds = ScenarioTime.Runs(2);
        await using var cluster = await ClusterHarness.StartAsync(3);
        string queue = "qq-failover";
        await using (var connection = await Factory(cluster.Node(1)).CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, Quorum);
        }

        string? topic = null;
        await cluster.WaitUntilAsync("the queue's partition is listed", async () => (topic = await QueueTopicAsync(cluster.Node(1))) is not null);
        await cluster.WaitUntilAsync("all three members are in sync", async () => await LeaderAsync(cluster, topic!) is { Isr.Length: 3 });
        Assert.Equal(1, (await LeaderAsync(cluster, topic!))!.Value.Node.NodeId); // client-local placement

        // A member that does not lead refuses: publishes are not confirmed, consume names the leader.
        await using (var connection = await Factory(cluster.Node(2)).CreateConnectionAsync())
        {
            await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
            await cluster.WaitUntilAsync("node 2 knows the queue", async () =>
            {
                await using var probe = await connection.CreateChannelAsync();
                try
                {
                    await probe.QueueDeclarePassiveAsync(queue);
                    return true;
                }
                catch (OperationInterruptedException)
                {
                    return false;
                }
            });
            await Assert.ThrowsAnyAsync<Exception>(() => channel.BasicPublishAsync("", queue, true, new BasicProperties(), "refused"u8.ToArray()).AsTask());
            await using var consumeChannel = await connection.CreateChannelAsync();
            var refused = await Assert.ThrowsAsync<OperationInterruptedException>(
                () => consumeChannel.BasicConsumeAsync(queue, false, new AsyncEventingBasicConsumer(consumeChannel)));
            Assert.Equal(404, refused.ShutdownReason!.ReplyCode);
            Assert.Contains("led by node 1", refused.ShutdownReason.ReplyText, StringComparison.Ordinal);
        }

        var confirmed = new ConcurrentDictionary<string, bool>();
        var deliveries = new ConcurrentDictionary<string, int>();
        int unflaggedRepeats = 0, reconnects = 0;
        var failures = new ConcurrentQueue<string>();
        using var stopPublishing = new CancellationTokenSource();
        using var stopConsuming = new CancellationTokenSource();

        async Task PublishAsync()
        {
            int next = 0;
            while (!stopPublishing.IsCancellationRequested)
            {
                try
                {
                    if (await LeaderAsync(cluster, topic!) is not { } leader)
                    {
                        await Task.Delay(100);
                        continue;
                    }
                    await using var connection = await Factory(leader.Node).CreateConnectionAsync();
                    await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
                    while (!stopPublishing.IsCancellationRequested)
                    {
                        string id = "m-" + next++.ToString(CultureInfo.InvariantCulture);
                        // A confirm still pending when the connection dies may never be answered by the client library: bound the wait.
                        using var confirmWait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                        await channel.BasicPublishAsync("", queue, true, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(id), confirmWait.Token);
                        confirmed[id] = true; // returned without an exception: the broker confirmed it
                    }
                }
                catch (Exception e) when (!stopPublishing.IsCancellationRequested)
                {
                    // Whatever ended this connection (the node died, a nack, a refusal while no member leads): start over.
                    failures.Enqueue("publisher: " + e.GetType().Name);
                    Interlocked.Increment(ref reconnects);
                    await Task.Delay(200);
                }
                catch (Exception)
                {
                    return;
                }
            }
        }

        async Task ConsumeAsync()
        {
            while (!stopConsuming.IsCancellationRequested)
            {
                try
                {
                    if (await LeaderAsync(cluster, topic!) is not { } leader)
                    {
                        await Task.Delay(100);
                        continue;
                    }
                    await using var connection = await Factory(leader.Node).CreateConnectionAsync();
                    await using var channel = await connection.CreateChannelAsync();
                    await channel.BasicQosAsync(0, 50, false);
                    var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var consumer = new AsyncEventingBasicConsumer(channel);
                    consumer.ReceivedAsync += async (_, e) =>
                    {
                        string id = Encoding.UTF8.GetString(e.Body.Span);
                        int seen = deliveries.AddOrUpdate(id, 1, (_, n) => n + 1);
                        if (seen > 1 && !e.Redelivered) Interlocked.Increment(ref unflaggedRepeats);
                        await channel.BasicAckAsync(e.DeliveryTag, false);
                    };
                    consumer.UnregisteredAsync += (_, _) => { gone.TrySetResult(); return Task.CompletedTask; };
                    consumer.ShutdownAsync += (_, _) => { gone.TrySetResult(); return Task.CompletedTask; };
                    connection.ConnectionShutdownAsync += (_, _) => { gone.TrySetResult(); return Task.CompletedTask; };
                    await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
                    await gone.Task.WaitAsync(stopConsuming.Token);
                }
                catch (OperationCanceledException) when (stopConsuming.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    failures.Enqueue("consumer: " + e.GetType().Name);
                    Interlocked.Increment(ref reconnects);
                    await Task.Delay(200);
                }
            }
        }

        using var _ = new FailureReport(output, failures);
        var publisher = Task.Run(PublishAsync);
        var consumerTask = Task.Run(ConsumeAsync);
        for (int round = 0; round < rounds; round++)
        {
            await Task.Delay(traffic);
            var victim = (await LeaderAsync(cluster, topic!))!.Value.Node;
            int before = confirmed.Count;
            await victim.KillAsync();
            output.WriteLine($"round {round}: SIGKILLed leader {victim.NodeId} after {before} confirmed");
            await cluster.WaitUntilAsync("another member leads", async () => await LeaderAsync(cluster, topic!) is { } l && l.Node != victim);
            await cluster.WaitUntilAsync("confirms resume", () => Task.FromResult(confirmed.Count > before + 10));
            await victim.StartAsync();
            await cluster.WaitUntilAsync("the restarted member is back in sync", async () => await LeaderAsync(cluster, topic!) is { Isr.Length: 3 },
                TimeSpan.FromSeconds(90));
        }

        await Task.Delay(traffic);
        await stopPublishing.CancelAsync();
        await publisher.WaitAsync(TimeSpan.FromSeconds(60));
        await cluster.WaitUntilAsync("every confirmed message is consumed", () => Task.FromResult(confirmed.Keys.All(deliveries.ContainsKey)),
            TimeSpan.FromSeconds(90));
        await stopConsuming.CancelAsync();
        await consumerTask.WaitAsync(TimeSpan.FromSeconds(30));

        int repeated = deliveries.Values.Count(n => n > 1);
        output.WriteLine($"{confirmed.Count} confirmed, {deliveries.Count} distinct delivered, {repeated} delivered more than once, {reconnects} reconnects");
        var lost = confirmed.Keys.Where(id => !deliveries.ContainsKey(id)).ToList();
        Assert.True(lost.Count == 0, $"confirmed but never delivered: {string.Join(", ", lost.Take(20))}");
        Assert.Equal(0, unflaggedRepeats);
        Assert.False(confirmed.IsEmpty);
    }

    /// <summary>Writes the clients' errors to the test output however the test ends.</summary>
    private sealed class FailureReport(ITestOutputHelper output, ConcurrentQueue<string> failures) : IDisposable
    {
        public void Dispose() => output.WriteLine("client errors: " + string.Join(", ", failures.GroupBy(f => f).Select(g => $"{g.Key} x{g.Count()}")));
    }
}
