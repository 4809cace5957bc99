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
/// One published message, shared read-only by every queue it was routed to. Its content is the raw
/// property list (flags and values, exactly as the publisher sent it) followed by the body, in one buffer
/// that is written to the wire as it is.
/// </summary>
/// <remarks>
/// <para>A message from a <see cref="MessagePool"/> is reference-counted and goes back to the pool (buffer
/// and object) when the last reference is released, so that moving a message allocates nothing. Whoever
/// holds a message beyond the call that handed it over holds a reference: the publisher until routing is
/// done, each queue's entry (ready, then unacknowledged in a channel, until ack, drop or purge), each
/// delivery waiting to be written, a dead letter waiting to be republished. Reading a message after its
/// last release reads whatever message reuses it next: every path that lets go of an entry releases it
/// exactly once (the pool's <see cref="MessagePool.Outstanding"/> count checks this in tests).</para>
/// </remarks>
public sealed class AmqpMessage
{
    private readonly MessagePool? _pool;
    private readonly byte[] _buffer;
    private int _length;
    private int _references;
    private IReadOnlyDictionary<string, object?>? _headers;
    private bool _headersRead;

    /// <summary>A message that owns <paramref name="content"/> and belongs to no pool (releasing it is a no-op
    /// once the count reaches zero).</summary>
    public AmqpMessage(string exchange, string routingKey, byte[] content, int propertiesLength, MessageInfo info)
        : this(null, content)
    {
        Reset(exchange, routingKey, content.Length, propertiesLength, info);
    }

    internal AmqpMessage(MessagePool? pool, byte[] buffer)
    {
        _pool = pool;
        _buffer = buffer;
    }

    public string Exchange { get; private set; } = "";

    public string RoutingKey { get; private set; } = "";

    public int PropertiesLength { get; private set; }

    public MessageInfo Info { get; private set; }

    /// <summary>Properties then body.</summary>
    public ReadOnlySpan<byte> Content => _buffer.AsSpan(0, _length);

    public int ContentLength => _length;

    /// <summary>The content to fill in, for the message's creator only, before the message is shared.</summary>
    public Span<byte> WritableContent => _buffer.AsSpan(0, _length);

    public ReadOnlySpan<byte> RawProperties => _buffer.AsSpan(0, PropertiesLength);

    public ReadOnlyMemory<byte> RawPropertiesMemory => _buffer.AsMemory(0, PropertiesLength);

    public ReadOnlyMemory<byte> Body => _buffer.AsMemory(PropertiesLength, _length - PropertiesLength);

    public int BodySize => _length - PropertiesLength;

    internal int Capacity => _buffer.Length;

    internal MessagePool? Pool => _pool;

    internal void Reset(string exchange, string routingKey, int length, int propertiesLength, MessageInfo info)
    {
        Exchange = exchange;
        RoutingKey = routingKey;
        _length = length;
        PropertiesLength = propertiesLength;
        Info = info;
        _headers = null;
        _headersRead = false;
        _references = 1;
    }

    /// <summary>Drops what a pooled message must not keep alive while it waits for reuse.</summary>
    internal void Clear()
    {
        Exchange = RoutingKey = "";
        _headers = null;
        _headersRead = false;
    }

    /// <summary>One more holder (a queue's entry, a delivery waiting to be written).</summary>
    public void Retain()
    {
        if (Interlocked.Increment(ref _references) <= 1) ThrowReleased();
    }

    /// <summary>A holder lets go; the last one returns the message to its pool.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0) _pool?.Return(this);
        else if (left < 0) ThrowReleased();
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowReleased() => throw new InvalidOperationException("The message was already released by its last holder.");

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

    /// <summary>The raw properties with header <paramref name="name"/> set to <paramref name="value"/> (a quorum queue's x-delivery-count).</summary>
    byte[] SetHeader(ReadOnlySpan<byte> rawProperties, string name, long value);

    byte[] EncodeTable(IDictionary<string, object?>? table);

    Dictionary<string, object?>? DecodeTable(ReadOnlySpan<byte> encoded);
}
