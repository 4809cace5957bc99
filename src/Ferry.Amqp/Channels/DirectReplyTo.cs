using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Ferry.Amqp.Channels;

/// <summary>
/// RabbitMQ's direct reply-to: the requesters consuming from the pseudo-queue <c>amq.rabbitmq.reply-to</c>,
/// by the name their requests carry in <c>reply_to</c> (<c>amq.rabbitmq.reply-to.&lt;suffix&gt;</c>). A reply
/// published to the default exchange with that name as routing key goes straight to the requester's channel:
/// no queue, no buffering; a reply to a requester that has gone is dropped.
/// </summary>
/// <remarks>One per broker (shared by every connection). The suffix is random, so that a name cannot be
/// guessed and a later channel with the same number never receives replies meant for an earlier one.</remarks>
public sealed class DirectReplyTo
{
    public const string QueueName = "amq.rabbitmq.reply-to";

    public const string Prefix = QueueName + ".";

    private readonly ConcurrentDictionary<string, AmqpChannel> _requesters = new(StringComparer.Ordinal);

    internal static bool IsReplyName(string routingKey) => routingKey.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Registers a requester channel; returns the name its requests' reply_to becomes.</summary>
    internal string Register(AmqpChannel channel)
    {
        Span<byte> random = stackalloc byte[18];
        RandomNumberGenerator.Fill(random);
        string name = Prefix + Base64Url.EncodeToString(random);
        _requesters[name] = channel;
        return name;
    }

    internal void Unregister(string name) => _requesters.TryRemove(name, out _);

    internal bool TryGet(string name, out AmqpChannel channel) => _requesters.TryGetValue(name, out channel!);
}
