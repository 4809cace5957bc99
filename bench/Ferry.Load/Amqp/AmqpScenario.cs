using System.Diagnostics;
using Ferry.Load.Common;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Ferry.Load.Amqp;

/// <summary>
/// One publisher connection and one consumer connection through RabbitMQ.Client on one queue.
/// Durable: durable queue, persistent messages, publisher confirms with at most --in-flight (1000)
/// unconfirmed, manual ack of each message, prefetch --prefetch (1000); a message counts as acknowledged
/// when its confirm arrives. Transient: non-durable queue, transient messages, no confirms, auto-ack; a
/// message counts once the client has handed it to the socket.
/// </summary>
internal static class AmqpScenario
{
    public static async Task<int> RunAsync(LoadOptions options)
    {
        var (host, port) = options.TargetHostAndPort;
        var factory = new ConnectionFactory
        {
            HostName = host,
            Port = port,
            UserName = "guest",
            Password = "guest",
        };
        bool durable = options.Durable;
        string queue = $"load-{options.Size}-{Guid.NewGuid():N}";

        await using var consumerConnection = await factory.CreateConnectionAsync("ferry-load-consumer");
        await using var publisherConnection = await factory.CreateConnectionAsync("ferry-load-publisher");
        await using var consumerChannel = await consumerConnection.CreateChannelAsync();
        await using var publisherChannel = await publisherConnection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: durable, publisherConfirmationTrackingEnabled: false));
        var queueArguments = options.QueueType == "classic" ? null : new Dictionary<string, object?> { ["x-queue-type"] = options.QueueType };
        await consumerChannel.QueueDeclareAsync(queue, durable: durable, exclusive: false, autoDelete: false, arguments: queueArguments);

        var delivery = new Delivery(options.WarmupSequences);
        var sw = Stopwatch.StartNew();
        long expected = long.MaxValue;
        var caughtUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        double consumeSeconds = 0;
        void CheckCaughtUp()
        {
            if (delivery.CaughtUp(Interlocked.Read(ref expected)) && caughtUp.TrySetResult()) consumeSeconds = sw.Elapsed.TotalSeconds;
        }

        await consumerChannel.BasicQosAsync(0, (ushort)options.Prefetch, global: false);
        var consumer = new AsyncEventingBasicConsumer(consumerChannel);
        consumer.ReceivedAsync += async (_, ea) =>
        {
            delivery.OnReceived(Stamp.Read(ea.Body.Span));
            if (durable) await consumerChannel.BasicAckAsync(ea.DeliveryTag, multiple: false);
            CheckCaughtUp();
        };
        await consumerChannel.BasicConsumeAsync(queue, autoAck: !durable, consumer);

        using var window = new ConfirmWindow(options.InFlight);
        if (durable)
        {
            publisherChannel.BasicAcksAsync += (_, ea) =>
            {
                delivery.OnAcked(window.Settle(ea.DeliveryTag, ea.Multiple));
                return Task.CompletedTask;
            };
            publisherChannel.BasicNacksAsync += (_, ea) =>
            {
                delivery.OnFailed(window.Settle(ea.DeliveryTag, ea.Multiple));
                return Task.CompletedTask;
            };
        }

        // The client serializes the body into its own frame buffer before the publish completes, so one
        // payload buffer serves every message.
        var payload = new byte[options.Size];
        var properties = new BasicProperties { DeliveryMode = durable ? DeliveryModes.Persistent : DeliveryModes.Transient };
        var pacer = new Pacer(options.Rate);
        long sent = 0;
        sw.Restart();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        Result.MarkStart();
        while (sw.Elapsed.TotalSeconds < options.Seconds)
        {
            for (long n = await pacer.AllowanceAsync(sent); n > 0 && sw.Elapsed.TotalSeconds < options.Seconds; n--)
            {
                if (durable) await window.WaitForSlotAsync(CancellationToken.None);
                new Stamp(sent, LatencyRecorder.Now).Write(payload);
                await publisherChannel.BasicPublishAsync("", queue, mandatory: false, properties, payload);
                sent++;
                if (!durable) delivery.OnAcked();
            }
        }
        // Every publish is either confirmed or nacked before the figure is taken.
        var settleDeadline = Stopwatch.StartNew();
        while (durable && delivery.Acked + delivery.Failed < sent && settleDeadline.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(1);
        double produceSeconds = sw.Elapsed.TotalSeconds;

        Interlocked.Exchange(ref expected, durable ? delivery.Acked : sent);
        CheckCaughtUp();
        await delivery.WaitCaughtUpAsync(Interlocked.Read(ref expected), Delivery.IdleLimit);
        if (!caughtUp.Task.IsCompleted) consumeSeconds = sw.Elapsed.TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;

        try { await consumerChannel.QueueDeleteAsync(queue); }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.OperationInterruptedException or IOException) { }

        string scenario = durable ? "amqp durable" : "amqp transient";
        return Result.Print(options, scenario, options.Size, sent, delivery, produceSeconds, consumeSeconds, allocated);
    }
}
