using System.Text;
using Ferry.Storage.Durability;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>Acknowledged means durable: a failed fsync is never answered with tx.commit-ok.</summary>
public sealed class FsyncFailureTests
{
    [Fact]
    public async Task TxCommit_WhenFsyncFails_ClosesChannelWith541_NoCommitOk()
    {
        await using var server = await FerryServer.StartAsync();
        string queue = Name("tx-fsync");
        await using var connection = await server.ConnectAsync();
        await using (var setup = await connection.CreateChannelAsync())
        {
            await setup.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        }

        await using var channel = await connection.CreateChannelAsync();
        await channel.TxSelectAsync();
        await channel.BasicPublishAsync("", queue, false, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes("first"));
        await channel.TxCommitAsync(); // the disk works: committed

        // Only this server's files fail (tests in other classes run beside this one in the same process).
        string data = server.DataDirectory;
        StorageFaults.FailSync = path => path.StartsWith(data, StringComparison.Ordinal);
        try
        {
            await channel.BasicPublishAsync("", queue, false, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes("second"));
            var ex = await Assert.ThrowsAnyAsync<OperationInterruptedException>(() => channel.TxCommitAsync().WaitAsync(WaitLimit));
            Assert.Equal(541, ex.ShutdownReason!.ReplyCode);
            Assert.False(channel.IsOpen);
        }
        finally
        {
            StorageFaults.FailSync = null;
        }

        // The connection and its other channels carry on.
        await using var other = await connection.CreateChannelAsync();
        Assert.Equal(queue, (await other.QueueDeclarePassiveAsync(queue)).QueueName);
    }
}
