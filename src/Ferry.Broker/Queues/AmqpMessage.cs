namespace Ferry.Broker.Queues;

/// <summary>
/// What the wire layer learned from a message's content header: the few properties the broker acts on.
/// Read once at publish (or at recovery) so that routing and queueing never parse properties again.
/// </summary>
public readonly record struct MessageInfo(bool Persistent, byte Priority, long ExpirationMs)
{
    public static MessageInfo Default => new(false, 0, -1);
}

/// <summary>
/// One published message, shared read-only by every queue it was routed to. <see cref="Content"/> is the
/// raw property list (flags and values, exactly as the publisher sent it) followed by the body, in one
/// array: the only allocation a message costs beyond this object, and written to the wire as it is.
/// </summary>
public sealed class AmqpMessage
{
    private IReadOnlyDictionary<string, object?>? _headers;
    private bool _headersRead;

    public AmqpMessage(string exchange, string routingKey, byte[] content, int propertiesLength, MessageInfo info)
    {
        Exchange = exchange;
        RoutingKey = routingKey;
        Content = content;
        PropertiesLength = propertiesLength;
        Info = info;
    }

    public string Exchange { get; }

    public string RoutingKey { get; }

    public byte[] Content { get; }

    public int PropertiesLength { get; }

    public MessageInfo Info { get; }

    public ReadOnlySpan<byte> RawProperties => Content.AsSpan(0, PropertiesLength);

    public ReadOnlyMemory<byte> Body => Content.AsMemory(PropertiesLength);

    public int BodySize => Content.Length - PropertiesLength;

    /// <summary>
    /// The headers table, decoded on first use (headers exchanges, dead-lettering) and kept. Two threads
    /// decoding at once get equal tables, so the race is benign.
    /// </summary>
    public IReadOnlyDictionary<string, object?>? GetHeaders(IMessageContentCodec codec)
    {
        if (!_headersRead)
        {
            _headers = codec.ReadHeaders(RawProperties);
            _headersRead = true;
        }

        return _headers;
    }
}

/// <summary>
/// The wire-format knowledge the broker needs and must not own (ARCHITECTURE.md: the broker knows nothing
/// of wire formats): the AMQP layer implements it with its field-table and property codecs.
/// </summary>
public interface IMessageContentCodec
{
    MessageInfo ReadInfo(ReadOnlySpan<byte> rawProperties);

    IReadOnlyDictionary<string, object?>? ReadHeaders(ReadOnlySpan<byte> rawProperties);

    /// <summary>
    /// The raw properties of a dead-lettered copy: an x-death entry added or counted up, the x-first-death-*
    /// headers set once, and the per-message expiration removed (as RabbitMQ does, so it does not expire again).
    /// </summary>
    byte[] AddDeath(AmqpMessage message, string queue, string reason, long nowUnixSeconds);

    byte[] EncodeTable(IDictionary<string, object?>? table);

    Dictionary<string, object?>? DecodeTable(ReadOnlySpan<byte> encoded);
}
