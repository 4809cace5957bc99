using System.Diagnostics;
using Ferry.Load.Common;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Ferry.Load.Nats;

/// <summary>
/// NATS JetStream through NATS.Net, one publisher connection and one consumer connection: a file-storage
/// stream on one subject; asynchronous publishes with at most --in-flight (1000) waiting for their PubAck
/// (a message counts as acknowledged when its PubAck arrives); a durable pull consumer with explicit ack of
/// each message, pulling up to --prefetch (1000) at a time.
/// </summary>
internal static class NatsScenario
{
    public static async Task<int> RunAsync(LoadOptions options)
    {
        var natsOptions = NatsOpts.Default with { Url = $"nats://{options.Target}", Name = "ferry-load", SubPendingChannelCapacity = 4096 };
        await using var consumerConnection = new NatsConnection(natsOptions with { Name = "ferry-load-consumer" });
        await using var publisherConnection = new NatsConnection(natsOptions with { Name = "ferry-load-publisher" });
        var consumerJs = new NatsJSContext(consumerConnection);
        var publisherJs = new NatsJSContext(publisherConnection);
        var serializer = new StampSerializer(options.Size);

        string id = Guid.NewGuid().ToString("N");
        string stream = $"LOAD_{id}";
        string subject = $"load.{id}";
        await consumerJs.CreateStreamAsync(new StreamConfig(stream, [subject]) { Storage = StreamConfigStorage.File });
        var consumer = await consumerJs.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("load")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            MaxAckPending = Math.Max(options.Prefetch * 2, 1000),
        });

        var delivery = new Delivery(options.WarmupSequences);
        var sw = Stopwatch.StartNew();
        long expected = long.MaxValue;
        using var giveUp = new CancellationTokenSource();
        double consumeSeconds = 0;
        var consuming = Task.Run(async () =>
        {
            try
            {
                await foreach (var msg in consumer.ConsumeAsync(serializer, new NatsJSConsumeOpts { MaxMsgs = options.Prefetch }, giveUp.Token))
                {
                    delivery.OnReceived(msg.Data);
                    await msg.AckAsync(cancellationToken: giveUp.Token);
                    if (delivery.CaughtUp(Interlocked.Read(ref expected))) break;
                }
            }
            catch (OperationCanceledException) when (giveUp.IsCancellationRequested)
            {
            }
            consumeSeconds = sw.Elapsed.TotalSeconds;
        });

        // At most --in-flight publishes wait for their PubAck; the oldest is awaited when the window is full.
        var window = new ValueTask<PubAckResponse>[options.InFlight];
        int head = 0, count = 0;
        async ValueTask SettleOldestAsync()
        {
            try
            {
                var ack = await window[head];
                if (ack.IsSuccess()) delivery.OnAcked();
                else delivery.OnFailed();
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException)
            {
                delivery.OnFailed();
            }
            window[head] = default;
            head = (head + 1) % window.Length;
            count--;
        }

        var pacer = new Pacer(options.Rate);
        long sent = 0;
        sw.Restart();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        Result.MarkStart();
        while (sw.Elapsed.TotalSeconds < options.Seconds)
        {
            for (long n = await pacer.AllowanceAsync(sent); n > 0 && sw.Elapsed.TotalSeconds < options.Seconds; n--)
            {
                if (count == window.Length) await SettleOldestAsync();
                // Each stored ValueTask is awaited exactly once, in SettleOldestAsync.
#pragma warning disable CA2012
                window[(head + count) % window.Length] = publisherJs.PublishAsync(subject, new Stamp(sent, LatencyRecorder.Now), serializer);
#pragma warning restore CA2012
                count++;
                sent++;
            }
            // Paced runs collect acknowledgements as they come rather than when the window fills.
            while (options.Rate > 0 && count > 0 && window[head].IsCompleted) await SettleOldestAsync();
        }
        while (count > 0) await SettleOldestAsync();
        double produceSeconds = sw.Elapsed.TotalSeconds;

        Interlocked.Exchange(ref expected, delivery.Acked);
        // The consumer may have been waiting on an empty pull when the last ack arrived: it is stopped here
        // once caught up, or once nothing has arrived for a while.
        await delivery.WaitCaughtUpAsync(delivery.Acked, Delivery.IdleLimit);
        if (!consuming.IsCompleted) { consumeSeconds = sw.Elapsed.TotalSeconds; await giveUp.CancelAsync(); }
        await consuming;
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;

        try { await consumerJs.DeleteStreamAsync(stream); }
        catch (NatsJSApiException) { }

        return Result.Print(options, "nats jetstream", options.Size, sent, delivery, produceSeconds, consumeSeconds, allocated);
    }
}
