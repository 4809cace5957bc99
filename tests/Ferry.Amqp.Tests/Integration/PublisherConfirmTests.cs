using System.Text;
using RabbitMQ.Client;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

public sealed class PublisherConfirmTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    /// <summary>
    /// Publishes written back to back (so that the broker reads several in one batch) into a durable queue that
    /// takes five: every sequence number is confirmed exactly once, the first five acked after their fsync,
    /// the rest nacked, whatever batches the broker saw.
    /// </summary>
    [Fact]
    public async Task DurableBatch_WithRejectedPublishes_ConfirmsEachSequenceOnce()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: false));
        string q = Name("confirm-batch");
        await channel.QueueDeclareAsync(q, durable: true, exclusive: false, autoDelete: true, new Dictionary<string, object?>
        {
            ["x-max-length"] = 5,
            ["x-overflow"] = "reject-publish",
        });

        const int count = 40;
        var outcome = new bool?[count + 1]; // by sequence number: true acked, false nacked
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new Lock();
        void Settle(ulong tag, bool multiple, bool acked)
        {
            lock (gate)
            {
                for (ulong seq = multiple ? 1 : tag; seq <= tag; seq++)
                {
                    if (outcome[seq] is null) outcome[seq] = acked;
                    else if (!multiple || seq == tag) throw new InvalidOperationException($"{seq} confirmed twice");
                }

                if (outcome.Skip(1).All(o => o is not null)) done.TrySetResult();
            }
        }

        channel.BasicAcksAsync += (_, e) =>
        {
            Settle(e.DeliveryTag, e.Multiple, acked: true);
            return Task.CompletedTask;
        };
        channel.BasicNacksAsync += (_, e) =>
        {
            Settle(e.DeliveryTag, e.Multiple, acked: false);
            return Task.CompletedTask;
        };

        var props = new BasicProperties { Persistent = true };
        var publishes = Enumerable.Range(0, count).Select(i => channel.BasicPublishAsync("", q, false, props, Encoding.UTF8.GetBytes("m" + i)).AsTask()).ToList();
        await Task.WhenAll(publishes);
        await done.Task.WaitAsync(WaitLimit);

        Assert.All(outcome.Skip(1).Take(5), o => Assert.True(o));
        Assert.All(outcome.Skip(6), o => Assert.False(o));
        Assert.Equal(5u, (await channel.QueueDeclarePassiveAsync(q)).MessageCount);
    }
}
