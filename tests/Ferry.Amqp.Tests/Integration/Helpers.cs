using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Ferry.Amqp.Tests.Integration;

internal static class Helpers
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    public static string Name(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    public static CreateChannelOptions Confirms => new(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);

    /// <summary>basic.get until a message comes (deliveries into a queue are asynchronous to the publisher's channel).</summary>
    public static async Task<BasicGetResult> GetAsync(IChannel channel, string queue, bool autoAck = true)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (DateTime.UtcNow < deadline)
        {
            var result = await channel.BasicGetAsync(queue, autoAck);
            if (result is not null) return result;
            await Task.Yield();
        }

        throw new TimeoutException($"No message in {queue}.");
    }

    /// <summary>Waits until the queue holds <paramref name="count"/> ready messages (passive declare polls the count).</summary>
    public static async Task WaitForCountAsync(IChannel channel, string queue, uint count)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (DateTime.UtcNow < deadline)
        {
            if ((await channel.QueueDeclarePassiveAsync(queue)).MessageCount == count) return;
            await Task.Delay(10);
        }

        throw new TimeoutException($"{queue} never held {count} messages.");
    }

    /// <summary>A consumer that records deliveries and signals each one.</summary>
    public sealed class Recorder
    {
        private readonly System.Threading.Channels.Channel<BasicDeliverEventArgs> _deliveries =
            System.Threading.Channels.Channel.CreateUnbounded<BasicDeliverEventArgs>();

        public Recorder(IChannel channel)
        {
            Consumer = new AsyncEventingBasicConsumer(channel);
            Consumer.ReceivedAsync += (_, e) =>
            {
                _deliveries.Writer.TryWrite(new BasicDeliverEventArgs(e.ConsumerTag, e.DeliveryTag, e.Redelivered, e.Exchange,
                    e.RoutingKey, e.BasicProperties, e.Body.ToArray()));
                return Task.CompletedTask;
            };
            Consumer.UnregisteredAsync += (_, _) =>
            {
                Cancelled.TrySetResult();
                return Task.CompletedTask;
            };
        }

        public AsyncEventingBasicConsumer Consumer { get; }

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<BasicDeliverEventArgs> NextAsync() =>
            await _deliveries.Reader.ReadAsync().AsTask().WaitAsync(WaitLimit);

        public bool TryNext(out BasicDeliverEventArgs delivery) => _deliveries.Reader.TryRead(out delivery!);
    }
}
